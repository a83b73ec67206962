"""Messages the lifecycle room sends a customer about their case (survey questions, reminders): into the
outbox in the customer's message order, and into the case transcript."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from flows import ConversationState, ConversationStateError
from storage.crypto import CryptoError
from storage.errors import CaseNotFound
from storage.models import Case, ChannelIdentity, Conversation, Customer, TranscriptMessage
from storage.outbox import add_outbox_item
from storage.timers import JsonValue


@dataclass(frozen=True)
class CustomerCase:
    id: int
    number: str
    status: str
    channel: str
    sender_id: str
    lang: str
    # When the customer last wrote to us on this channel (WeChat allows pushes within 48 hours of it).
    last_inbound_at: datetime | None
    unreachable: bool
    # The customer writes traditional Chinese characters (see reads_traditional).
    traditional: bool


async def reads_traditional(conversation_id: int | None) -> bool:
    """Whether a case's customer reads traditional Chinese: their conversation says they write it, in Chinese.
    Our texts are simplified, so a case without a conversation or with a state we cannot read gets them as
    written."""
    if conversation_id is None:
        return False
    try:
        conversation = await Conversation.get_or_none(id=conversation_id)
        if conversation is None:
            return False
        return ConversationState.from_json(conversation.state).reads_traditional
    except (ConversationStateError, CryptoError, ValueError):
        return False


class TortoiseCustomerMessages:
    async def case(self, case_id: int) -> CustomerCase:
        case = await Case.get_or_none(id=case_id)
        if case is None:
            raise CaseNotFound(str(case_id))
        identity = await ChannelIdentity.get_or_none(channel=case.channel, sender_id=case.sender_id)
        customer = await Customer.get(id=case.customer_id)
        return CustomerCase(
            case.id, case.number, case.status, case.channel, case.sender_id, case.lang,
            identity.last_inbound_at if identity else None, customer.unreachable,
            await reads_traditional(case.conversation_id),
        )

    async def customer_reads_traditional(self, case_id: int) -> bool:
        case = await Case.get_or_none(id=case_id)
        return case is not None and await reads_traditional(case.conversation_id)

    async def send(self, case: CustomerCase, text: str, payload: Mapping[str, JsonValue]) -> None:
        await add_outbox_item(
            kind="message", channel=case.channel, ordering_key=f"{case.channel}:{case.sender_id}", payload=payload
        )
        identity = await ChannelIdentity.get_or_none(channel=case.channel, sender_id=case.sender_id)
        if identity is not None:
            await TranscriptMessage.create(
                case_id=case.id, identity=identity, direction="out", author="bot", text=text, payload=dict(payload)
            )
