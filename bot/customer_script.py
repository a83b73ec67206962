"""Our messages in the characters the customer writes: every text of ours (and an agent's words) is simplified
Chinese; a customer who writes traditional characters reads each message, its buttons too, in them. The flow
engine does the same for its own replies (`ConversationState.in_script`); this is the one way for the rest."""

from __future__ import annotations

from dataclasses import replace
from typing import cast

from bot.messages import Button, ChannelName, Outbound
from flows.language import to_traditional
from storage.customer_messages import CustomerCase


def in_customer_script(message: Outbound, traditional: bool) -> Outbound:
    """The message as the customer reads it: unchanged unless they read traditional characters."""
    if not traditional:
        return message
    return replace(
        message,
        text=to_traditional(message.text),
        buttons=tuple(replace(button, label=to_traditional(button.label)) for button in message.buttons),
    )


def status_update(case: CustomerCase, text: str, buttons: tuple[Button, ...] = ()) -> Outbound:
    """A message of the case lifecycle's to the case's customer (survey, duplicate question, reminder), in their
    script."""
    return in_customer_script(Outbound(
        channel=cast(ChannelName, case.channel), recipient_id=case.sender_id, text=text, buttons=buttons,
        kind="status_update", metadata=(("case_number", case.number),),
    ), case.traditional)
