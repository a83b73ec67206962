"""Our messages in the characters the customer writes: every text of ours (and an agent's words) is simplified
Chinese; a customer who writes traditional characters reads each message, its buttons too, in them. The flow
engine does the same for its own replies (`ConversationState.in_script`); this is the one way for the rest."""

from __future__ import annotations

from dataclasses import replace

from bot.messages import Outbound
from flows.language import to_traditional


def in_customer_script(message: Outbound, traditional: bool) -> Outbound:
    """The message as the customer reads it: unchanged unless they read traditional characters."""
    if not traditional:
        return message
    return replace(
        message,
        text=to_traditional(message.text),
        buttons=tuple(replace(button, label=to_traditional(button.label)) for button in message.buttons),
    )
