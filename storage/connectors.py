"""Helpdesk tickets that mirror cases: which ticket belongs to which case in which connector, and the outbox
items that keep them in step (one ordering key per connector and case: a ticket's updates stay in order)."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from storage.models import Case, ExternalTicket
from storage.outbox import add_outbox_item

CONNECTOR_OUTBOX_KIND = "connector"


async def queue_ticket_sync(connector: str, case_number: str, event: str) -> None:
    await add_outbox_item(
        kind=CONNECTOR_OUTBOX_KIND,
        channel=connector[:16],
        ordering_key=f"connector:{connector}:{case_number}",
        payload={"connector": connector, "case_number": case_number, "event": event},
    )


class TortoiseExternalTickets:
    async def ticket_id(self, case_number: str, connector: str) -> str | None:
        row = await ExternalTicket.get_or_none(case__number=case_number, connector=connector)
        return None if row is None else row.ticket_id

    async def remember(self, case_number: str, connector: str, ticket_id: str, status: str) -> None:
        case = await Case.get(number=case_number)
        updated = await ExternalTicket.filter(case_id=case.id, connector=connector).update(
            ticket_id=ticket_id, synced_status=status
        )
        if updated:
            return
        try:
            await ExternalTicket.create(case=case, connector=connector, ticket_id=ticket_id, synced_status=status)
        except IntegrityError:
            await ExternalTicket.filter(case_id=case.id, connector=connector).update(
                ticket_id=ticket_id, synced_status=status
            )

    async def tickets(self, case_number: str) -> dict[str, str]:
        rows = await ExternalTicket.filter(case__number=case_number)
        return {row.connector: row.ticket_id for row in rows}
