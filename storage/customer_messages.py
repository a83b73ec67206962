"""Messages the lifecycle room sends a customer about their case (survey questions, reminders): into the
outbox in the customer's message order, and into the case transcript."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from storage.errors import CaseNotFound
from storage.models import Case, ChannelIdentity, Customer, TranscriptMessage
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
        )

    async def send(self, case: CustomerCase, text: str, payload: Mapping[str, JsonValue]) -> None:
        await add_outbox_item(
            kind="message", channel=case.channel, ordering_key=f"{case.channel}:{case.sender_id}", payload=payload
        )
        identity = await ChannelIdentity.get_or_none(channel=case.channel, sender_id=case.sender_id)
        if identity is not None:
            await TranscriptMessage.create(
                case_id=case.id, identity=identity, direction="out", author="bot", text=text, payload=dict(payload)
            )
