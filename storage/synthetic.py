"""Writing synthetic cases in bulk, for benchmarks and demos (`plaint dev seed`). Never used by intake."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tortoise import connections
from tortoise.models import Model
from tortoise.transactions import in_transaction

from storage.crypto import lookup_hash
from storage.models import Case, CaseEvent, ChannelIdentity, Conversation, Customer


@dataclass(frozen=True)
class SyntheticEvent:
    kind: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class SyntheticCase:
    channel: str
    sender_id: str
    lang: str
    name: str
    phone: str | None
    email: str | None
    description: str
    product: str
    product_confidence: float
    category: str
    category_confidence: float
    status: str
    team: str
    assignee: str | None
    created_at: datetime
    flow_id: str = "complaint"
    flow_version: int = 1
    events: tuple[SyntheticEvent, ...] = field(default=())


_TABLES: tuple[type[Model], ...] = (Customer, ChannelIdentity, Conversation, Case, CaseEvent)


async def _next_ids() -> dict[type[Model], int]:
    found: dict[type[Model], int] = {}
    for model in _TABLES:
        last = await model.all().order_by("-id").first()
        found[model] = (int(last.pk) if last is not None else 0) + 1
    return found


async def _advance_sequences() -> None:
    # Rows were written with explicit ids: PostgreSQL's sequences must be told, or the next real insert collides.
    connection = connections.get("default")
    if connection.capabilities.dialect != "postgres":
        return
    for model in _TABLES:
        table = model._meta.db_table
        await connection.execute_script(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
            f"(SELECT COALESCE(MAX(id), 1) FROM \"{table}\"))"
        )


async def insert_synthetic_cases(cases: Sequence[SyntheticCase], number_prefix: str = "SD") -> int:
    """Insert one batch in one transaction; returns how many cases were written."""
    async with in_transaction():
        ids = await _next_ids()
        customers: list[Customer] = []
        identities: list[ChannelIdentity] = []
        conversations: list[Conversation] = []
        rows: list[Case] = []
        events: list[CaseEvent] = []
        for offset, case in enumerate(cases):
            customer_id = ids[Customer] + offset
            identity_id = ids[ChannelIdentity] + offset
            conversation_id = ids[Conversation] + offset
            case_id = ids[Case] + offset
            customers.append(Customer(id=customer_id, display_name=case.name, lang=case.lang))
            identities.append(ChannelIdentity(id=identity_id, customer_id=customer_id, channel=case.channel,
                                              sender_id=case.sender_id, last_inbound_at=case.created_at))
            conversations.append(Conversation(id=conversation_id, identity_id=identity_id, flow_id=case.flow_id,
                                              flow_version=case.flow_version, step_id="done", status="completed",
                                              lang=case.lang, state={}))
            rows.append(Case(
                id=case_id, number=f"PL-{number_prefix}{case_id:08d}", status=case.status, customer_id=customer_id,
                conversation_id=conversation_id, channel=case.channel, sender_id=case.sender_id, lang=case.lang,
                name=case.name, phone=case.phone, email=case.email, description=case.description,
                phone_hash=lookup_hash("phone", case.phone), email_hash=lookup_hash("email", case.email),
                product=case.product, product_confidence=case.product_confidence, category=case.category,
                category_confidence=case.category_confidence, team=case.team, assignee=case.assignee,
                extra={"synthetic": True}, created_at=case.created_at,
            ))
            events.extend(
                CaseEvent(case_id=case_id, kind=event.kind, actor=event.actor, data={}, created_at=event.at)
                for event in case.events
            )
        # Parents before children: foreign keys are checked row by row.
        await Customer.bulk_create(customers)
        await ChannelIdentity.bulk_create(identities)
        await Conversation.bulk_create(conversations)
        await Case.bulk_create(rows)
        await CaseEvent.bulk_create(events)
        await _advance_sequences()
    return len(cases)



async def replicate_synthetic_cases(copies: int) -> int:
    """PostgreSQL only: `copies` more copies of every case already in the (synthetic) database with its customer,
    identity, conversation and events, written by the database itself (INSERT ... SELECT over generate_series), a
    million rows a minute instead of a thousand a second through the ORM. Each copy gets new ids, numbers and
    sender ids and is shifted back by up to an hour (its durations unchanged). Returns the cases written."""
    connection = connections.get("default")
    if connection.capabilities.dialect != "postgres":
        raise ValueError("replicating cases in SQL needs PostgreSQL")
    if copies <= 0:
        return 0
    last: dict[type[Model], int] = {}
    for model in _TABLES:
        row = await model.all().order_by("-id").first()
        last[model] = int(row.pk) if row is not None else 0
    shift = "(INTERVAL '1 second' * ((k.n * 7919) % 3600))"
    overrides: dict[type[Model], dict[str, str]] = {
        Customer: {"id": f"t.id + k.n * {last[Customer]}"},
        ChannelIdentity: {"id": f"t.id + k.n * {last[ChannelIdentity]}",
                          "customer_id": f"t.customer_id + k.n * {last[Customer]}",
                          "sender_id": "t.sender_id || '~' || k.n"},
        Conversation: {"id": f"t.id + k.n * {last[Conversation]}",
                       "identity_id": f"t.identity_id + k.n * {last[ChannelIdentity]}"},
        Case: {"id": f"t.id + k.n * {last[Case]}",
               "number": f"'PL-SR' || LPAD((t.id + k.n * {last[Case]})::text, 9, '0')",
               "customer_id": f"t.customer_id + k.n * {last[Customer]}",
               "conversation_id": f"t.conversation_id + k.n * {last[Conversation]}",
               "sender_id": "t.sender_id || '~' || k.n",
               "created_at": f"t.created_at - {shift}", "updated_at": f"t.created_at - {shift}"},
        CaseEvent: {"id": f"t.id + k.n * {last[CaseEvent]}", "case_id": f"t.case_id + k.n * {last[Case]}",
                    "created_at": f"t.created_at - {shift}"},
    }
    async with in_transaction() as transaction:
        for model in _TABLES:
            table = model._meta.db_table
            columns = list(model._meta.fields_db_projection.values())
            expressions = [overrides[model].get(column, f't."{column}"') for column in columns]
            await transaction.execute_script(
                f'INSERT INTO "{table}" ({", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)}) '
                f'SELECT {", ".join(expressions)} FROM "{table}" t CROSS JOIN generate_series(1, {int(copies)}) '
                f"AS k(n) WHERE t.id <= {last[model]}"
            )
        await _advance_sequences()
    # Fresh statistics for the planner, as autovacuum would gather them some minutes after a bulk load.
    for model in _TABLES:
        await connection.execute_script(f'ANALYZE "{model._meta.db_table}"')
    return last[Case] * copies
