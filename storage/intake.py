"""Everything one inbound message changes, written in one transaction (the intake unit of work)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from flows import CaseDraft, ConversationState
from storage.cases import OPEN_STATUSES, CaseDetails, CaseStatus, case_details
from storage.crypto import decrypt_text, lookup_hash
from storage.errors import StorageError
from storage.evidence import StoredBlob
from storage.inbox import check_turn_not_withdrawn
from storage.models import (
    Case,
    CaseEvent,
    ChannelIdentity,
    Conversation,
    Customer,
    Evidence,
    FlowStepEvent,
    InboundReceipt,
    OutboxItem,
    TranscriptMessage,
)
from storage.native_sql import insert_rows, native_sql, write_together
from storage.outbox import add_outbox_item, outbox_values

# No 0/O, 1/I: customers read case numbers aloud and type them on phones.
_CASE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


# What the transcript keeps of one customer message: the flows' longest accepted answer is far below it.
MAX_TRANSCRIPT_INBOUND_CHARS = 8000

@dataclass(frozen=True)
class IdentityRecord:
    id: int
    customer_id: int
    channel: str
    sender_id: str
    locale: str | None
    unreachable: bool


@dataclass(frozen=True)
class ConversationRecord:
    id: int
    state: ConversationState
    # The state column as stored (ciphertext): every save writes a new one, so an unchanged text is an unchanged
    # conversation, told without decrypting and validating the state again.
    stored: str | None = None


@dataclass(frozen=True)
class TurnLookup:
    """What a turn reads before it prepares, in one statement: whether its message was recorded already, the
    address's active conversation, and whether the address has an identity yet."""

    duplicate: bool
    conversation: ConversationRecord | None
    identity_exists: bool = True


# The turn path's reads are plain SQL (storage/native_sql.py): the ORM's query building and model instantiation
# cost more Python than the database spends answering them.
_LOOKUP = (
    "SELECT 0 AS kind, id, NULL AS state FROM inbound_receipt WHERE channel = ? AND message_id = ? "
    # The identity first, then its conversations by (identity_id, status): a join let PostgreSQL walk every
    # active conversation (rows read grew with the number of open conversations).
    "UNION ALL SELECT 1 AS kind, id, state FROM conversation WHERE identity_id = "
    "(SELECT id FROM channel_identity WHERE channel = ? AND sender_id = ?) AND status = 'active' "
    "UNION ALL SELECT 2 AS kind, id, NULL AS state FROM channel_identity WHERE channel = ? AND sender_id = ?"
)
# The identity, its customer and its active conversation, in one statement (read under the identity's lock).
_IDENTITY_COLUMNS = "SELECT i.id, i.customer_id, i.locale, i.last_inbound_at, cu.display_name, cu.unreachable, "
_IDENTITY_FROM = (
    "FROM channel_identity i JOIN customer cu ON cu.id = i.customer_id WHERE i.channel = ? AND i.sender_id = ?"
)
# The latest active conversation's id, by the (identity_id, status) index.
_ACTIVE_ID = "(SELECT MAX(a.id) FROM conversation a WHERE a.identity_id = i.id AND a.status = 'active')"
_IDENTITY_READ = (
    # The conversation by two subqueries on that index: joined, PostgreSQL walked every active conversation, or
    # hashed the whole table, or walked the status index, by its estimates.
    _IDENTITY_COLUMNS + _ACTIVE_ID + " AS conversation_id, "
    "(SELECT a.state FROM conversation a WHERE a.identity_id = i.id AND a.status = 'active' "
    "ORDER BY a.id DESC LIMIT 1) AS state " + _IDENTITY_FROM
)
# On PostgreSQL the identity is locked by a statement of its own before that read: a statement that waited for a row
# lock still reads the other tables as they were when it began, so a turn that waited for another worker's turn of
# the same customer would read the conversation as it was before that turn and overwrite what it stored.
_LOCK_IDENTITY = "SELECT id FROM channel_identity WHERE channel = ? AND sender_id = ? FOR UPDATE"
# Then the read also inserts the turn's receipt, linked to the active conversation it found: one statement, the
# INSERT a data-modifying CTE fed by the read (not run at all when the identity is gone). A message recorded
# already fails it on the receipt's unique key, as before.
_IDENTITY_READ_AND_RECEIPT = (
    "WITH l AS (" + _IDENTITY_READ + "), "
    "r AS (INSERT INTO inbound_receipt (channel, message_id, conversation_id, created_at) "
    "SELECT ?, ?, l.conversation_id, ? FROM l RETURNING id) "
    "SELECT l.*, (SELECT id FROM r) AS receipt_id FROM l"
)
# MariaDB locks the rows it reads with the read itself (no FOR UPDATE OF; its locking reads see the latest rows:
# this identity, its customer, its active conversation). A locking read does not lock, nor read the latest of, the
# rows of its subqueries, so there the conversation is joined; SQLite has one writer.
_MARIADB_LOCKED_READ = (
    _IDENTITY_COLUMNS + "c.id AS conversation_id, c.state "
    "FROM channel_identity i JOIN customer cu ON cu.id = i.customer_id "
    "LEFT JOIN conversation c ON c.id = " + _ACTIVE_ID + " WHERE i.channel = ? AND i.sender_id = ? FOR UPDATE"
)
_TOUCH_IDENTITY = "UPDATE channel_identity SET last_inbound_at = ?, locale = ? WHERE id = ?"
_LINK_RECEIPT = "UPDATE inbound_receipt SET conversation_id = ? WHERE id = ?"
_SAVE_CONVERSATION = (
    "UPDATE conversation SET flow_id = ?, flow_version = ?, step_id = ?, status = ?, lang = ?, state = ?, "
    "updated_at = ? WHERE id = ?"
)
_STATE_FIELD = Conversation._meta.fields_map["state"]
_LAST_INBOUND_FIELD = ChannelIdentity._meta.fields_map["last_inbound_at"]
# last_inbound_at is rewritten when it is older than this: a customer answering question after question does not
# cost an UPDATE per answer. Its one reader (WeChat's 48-hour push window) then sees the window close at most
# this much early, never late.
LAST_INBOUND_GRANULARITY = timedelta(seconds=60)


def encode_state(state: ConversationState) -> str:
    """The state column's stored text (serialised once, encrypted)."""
    return str(_STATE_FIELD.to_db_value(state.to_json(), Conversation))


def _conversation_record(conversation_id: int, stored: str) -> ConversationRecord:
    return ConversationRecord(conversation_id, ConversationState.from_json(_STATE_FIELD.to_python_value(stored)),
                              stored)


@dataclass(frozen=True)
class QueuedMessage:
    """A customer message as it sits in the outbox (storage cannot know bot's message type)."""

    outbox_id: int
    kind: str
    channel: str
    payload: Mapping[str, Any]


def _as_utc(at: datetime) -> datetime:
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def new_case_number() -> str:
    return "PL-" + "".join(secrets.choice(_CASE_ALPHABET) for _ in range(6))


@dataclass
class _Receipt:
    """The turn's row in inbound_receipt: its id and the conversation it is linked to."""

    id: int
    conversation_id: int | None


class IntakeTransaction:
    """Operations valid inside one intake transaction; the identity row is locked for its duration."""

    def __init__(
        self, connection: BaseDBAsyncClient, identity: IdentityRecord, display_name: str | None,
        receipt: _Receipt, active: tuple[int, str] | None, last_inbound_at: datetime | None = None,
    ) -> None:
        self._connection = connection
        self._identity = identity
        self._last_inbound_at = last_inbound_at
        # The stored (encrypted) display name: decrypted only if a message brings one to compare.
        self._display_name = display_name
        self._receipt = receipt
        # The active conversation read under the lock: (id, stored state).
        self._active = active
        # Whether this transaction queued anything a worker must deliver (the intake rings the outbox then).
        self.wakes_worker = False
        # Transcript lines are written together, in one statement, before anything reads them and at the end.
        self._transcript: list[dict[str, Any]] = []
        # So are outbox rows the commit delivers (nothing needs their ids), and the turn's flow step events.
        self._delivered: list[dict[str, Any]] = []
        self._step_events: list[dict[str, Any]] = []
        # The UPDATEs of rows this transaction holds (the locked identity, its conversation, the turn's receipt),
        # by row, the latest values: nothing in the turn reads them back, so they go with that statement too.
        self._updates: dict[tuple[str, int], tuple[str, list[Any]]] = {}

    @property
    def identity(self) -> IdentityRecord:
        return self._identity

    async def touch_identity(self, locale: str | None, display_name: str | None, at: datetime) -> None:
        identity = self._identity
        at = _as_utc(at)
        last = self._last_inbound_at
        recent = last is not None and timedelta(0) <= at - last < LAST_INBOUND_GRANULARITY
        if not recent or (locale and locale != identity.locale):
            identity = replace(identity, locale=locale or identity.locale)
            self._updates[("identity", identity.id)] = (_TOUCH_IDENTITY, [at, identity.locale, identity.id])
            self._last_inbound_at = at
        changed: dict[str, Any] = {}
        if display_name and not (self._display_name and decrypt_text(self._display_name)):
            changed["display_name"] = display_name
        # Writing to us again means they can be reached again.
        if identity.unreachable:
            changed["unreachable"] = False
            identity = replace(identity, unreachable=False)
        if changed:
            await Customer.filter(id=identity.customer_id).update(**changed)
            if "display_name" in changed:
                self._display_name = display_name
        self._identity = identity

    def moved_since(self, seen: ConversationRecord | None) -> bool:
        """Whether the active conversation is other than `seen` (read before the lock): another worker took a
        turn meanwhile. Compares the stored text, so an unchanged state is not decrypted again."""
        if seen is None or self._active is None:
            return seen is not None or self._active is not None
        return (seen.id, seen.stored) != self._active

    async def save_conversation(
        self, conversation_id: int | None, state: ConversationState, stored: str | None = None
    ) -> int:
        """`stored`: the state as encode_state gave it, when the caller encoded it ahead of the transaction."""
        values: dict[str, Any] = {
            "flow_id": state.flow_id,
            "flow_version": state.flow_version,
            "step_id": state.step_id,
            "status": state.status,
            "lang": state.lang,
        }
        if conversation_id is None:
            row = await Conversation.create(identity_id=self._identity.id, state=state.to_json(), **values)
            self._link_receipt(row.id)
            return row.id
        if stored is None:
            stored = encode_state(state)
        # Written at the flush (one statement with the transcript on PostgreSQL). No row count is checked: the
        # concurrency check is moved_since, against the state read under the identity's lock, which this
        # transaction holds until it commits.
        self._updates[("conversation", conversation_id)] = (_SAVE_CONVERSATION, [
            values["flow_id"], values["flow_version"], values["step_id"], values["status"], values["lang"], stored,
            datetime.now(UTC), conversation_id,
        ])
        if self._active is not None and self._active[0] == conversation_id:
            self._active = (conversation_id, stored)
        if self._receipt.conversation_id != conversation_id:
            self._link_receipt(conversation_id)
        return conversation_id

    def _link_receipt(self, conversation_id: int) -> None:
        self._receipt.conversation_id = conversation_id
        self._updates[("receipt", self._receipt.id)] = (_LINK_RECEIPT, [conversation_id, self._receipt.id])

    async def add_transcript(
        self,
        *,
        direction: str,
        author: str,
        text: str,
        payload: Mapping[str, Any] | None = None,
        conversation_id: int | None = None,
        case_id: int | None = None,
    ) -> None:
        stored_payload = dict(payload or {})
        if direction == "in" and len(text) > MAX_TRANSCRIPT_INBOUND_CHARS:
            # A refused answer (a 10 MB paste) must not be kept whole; accepted answers are far shorter.
            stored_payload["truncated_from_chars"] = len(text)
            text = text[:MAX_TRANSCRIPT_INBOUND_CHARS]
        self._transcript.append({
            "identity_id": self._identity.id,
            "receipt_id": self._receipt.id,
            "conversation_id": conversation_id,
            "case_id": case_id,
            "direction": direction,
            "author": author,
            "text": text,
            "payload": stored_payload,
        })

    def add_step_events(self, rows: Sequence[dict[str, Any]]) -> None:
        """The turn's flow step events (storage.dropoff.step_event_rows), written with the transcript lines."""
        self._step_events.extend(rows)

    async def flush(self) -> None:
        """Write the row updates, transcript lines, step events and delivered outbox rows added so far (each in
        the order added; on PostgreSQL in one statement); the transaction does it at the end."""
        batches = [(TranscriptMessage, self._transcript), (FlowStepEvent, self._step_events),
                   (OutboxItem, self._delivered)]
        updates = list(self._updates.values())
        self._transcript, self._step_events, self._delivered, self._updates = [], [], [], {}
        await write_together(batches, updates)

    async def add_evidence(self, blob: StoredBlob, file_name: str, conversation_id: int | None) -> int:
        row = await Evidence.create(
            conversation_id=conversation_id,
            file_name=file_name[:255],
            media_type=blob.media_type,
            size=blob.size,
            sha256=blob.sha256,
            storage_key=blob.storage_key,
        )
        return row.id

    async def link_evidence(self, evidence_ids: Sequence[int], conversation_id: int) -> None:
        if evidence_ids:
            await Evidence.filter(id__in=list(evidence_ids)).update(conversation_id=conversation_id)

    async def attach_evidence(self, evidence_ids: Sequence[int], case_id: int) -> None:
        """Files sent after filing belong to the case they follow up."""
        if evidence_ids:
            await Evidence.filter(id__in=list(evidence_ids)).update(case_id=case_id)

    async def file_case(self, draft: CaseDraft, conversation_id: int, lang: str) -> CaseDetails:
        extra = {key: value for key, value in draft.extra}
        for _ in range(10):
            number = new_case_number()
            if not await Case.exists(number=number):
                break
        case = await Case.create(
            number=number,
            status=CaseStatus.NEW,
            customer_id=self._identity.customer_id,
            conversation_id=conversation_id,
            channel=self._identity.channel,
            sender_id=self._identity.sender_id,
            lang=lang,
            name=draft.name,
            phone=draft.phone,
            email=draft.email,
            phone_hash=lookup_hash("phone", draft.phone),
            email_hash=lookup_hash("email", draft.email),
            description=draft.description,
            occurred_at=draft.occurred_at,
            occurred_where=draft.occurred_where,
            product=draft.product,
            product_confidence=draft.product_confidence,
            category=draft.category,
            category_confidence=draft.category_confidence,
            expected_resolution=draft.expected_resolution,
            extra=extra,
        )
        evidence_ids = [int(item.evidence_id) for item in draft.evidence if item.evidence_id.isdigit()]
        if evidence_ids:
            await Evidence.filter(id__in=evidence_ids).update(case_id=case.id)
        await self.flush()
        await TranscriptMessage.filter(conversation_id=conversation_id).update(case_id=case.id)
        await CaseEvent.create(
            case_id=case.id, kind="filed", actor="customer",
            # The flow version that collected the case, kept with it.
            data={"channel": case.channel, "flow_id": draft.flow_id, "flow_version": draft.flow_version},
        )
        return case_details(case)

    async def open_cases(self) -> list[CaseDetails]:
        rows = await Case.filter(customer_id=self._identity.customer_id, status__in=list(OPEN_STATUSES)).order_by("-id")
        return [case_details(row) for row in rows]

    async def recent_cases(self, limit: int = 5) -> list[CaseDetails]:
        rows = await Case.filter(customer_id=self._identity.customer_id).order_by("-id").limit(limit)
        return [case_details(row) for row in rows]

    async def last_button_values(self) -> list[str]:
        """The button values of the last message said to this customer, in order (a typed number picks one where
        a platform shows buttons as numbered options)."""
        row = await TranscriptMessage.filter(identity_id=self._identity.id, direction="out").order_by("-id").first()
        buttons = row.payload.get("buttons") if row is not None and isinstance(row.payload, dict) else None
        if not isinstance(buttons, list):
            return []
        return [str(item[0]) for item in buttons if isinstance(item, list) and item]

    async def record_customer_reply(self, case: CaseDetails, target: CaseStatus) -> None:
        """The customer answered a case waiting for them: its new status and the event, in this transaction."""
        await Case.filter(id=case.id).update(status=target, updated_at=datetime.now(UTC))
        await CaseEvent.create(
            case_id=case.id,
            kind="customer_reply",
            actor="customer",
            data={"from": case.status.value, "to": target.value},
        )

    async def enqueue(
        self, *, kind: str, channel: str, ordering_key: str, payload: Mapping[str, Any], delivered: bool = False
    ) -> int | None:
        """The new row's id; None for a row the commit delivers (`delivered`, see outbox_values): those are
        written together at the end, and nothing asks for their ids."""
        if delivered:
            self._delivered.append(outbox_values(
                kind=kind, channel=channel, ordering_key=ordering_key, payload=payload, receipt_id=self._receipt.id,
                delivered=True,
            ))
            return None
        self.wakes_worker = True
        return await add_outbox_item(
            kind=kind, channel=channel, ordering_key=ordering_key, payload=payload, receipt_id=self._receipt.id
        )


class TortoiseIntakeStore:
    """Opens intake transactions and answers the questions asked before one (duplicates, replies)."""

    def __init__(self, *, lock_rows: bool) -> None:
        # Row locks serialise one customer's messages across workers on PostgreSQL; SQLite has one writer.
        self._lock_rows = lock_rows

    async def is_duplicate(self, channel: str, message_id: str) -> bool:
        return await InboundReceipt.exists(channel=channel, message_id=message_id)

    async def replies_for(self, channel: str, message_id: str) -> list[QueuedMessage]:
        receipt = await InboundReceipt.get_or_none(channel=channel, message_id=message_id)
        if receipt is None:
            return []
        rows = await OutboxItem.filter(receipt_id=receipt.id, kind="message").order_by("id")
        return [QueuedMessage(row.id, row.kind, row.channel, row.payload) for row in rows]

    async def has_open_case(self, channel: str, sender_id: str) -> bool:
        """Whether the customer behind this address has a case still open (files then follow it up)."""
        identity = await ChannelIdentity.get_or_none(channel=channel, sender_id=sender_id)
        if identity is None:
            return False
        return await Case.exists(customer_id=identity.customer_id, status__in=list(OPEN_STATUSES))

    @staticmethod
    def encode_state(state: ConversationState) -> str:
        """A state as save_conversation stores it: encoded ahead of a transaction keeps the work out of it."""
        return encode_state(state)

    async def look_up(self, channel: str, sender_id: str, message_id: str) -> TurnLookup:
        """Whether (channel, message_id) was recorded, and the address's active conversation: one statement."""
        connection = connections.get("default")
        rows = await connection.execute_query_dict(
            native_sql(connection, _LOOKUP), [channel, message_id, channel, sender_id, channel, sender_id]
        )
        conversations = [row for row in rows if int(row["kind"]) == 1]
        latest = max(conversations, key=lambda row: int(row["id"])) if conversations else None
        return TurnLookup(
            duplicate=any(int(row["kind"]) == 0 for row in rows),
            conversation=None if latest is None else _conversation_record(int(latest["id"]), latest["state"]),
            identity_exists=any(int(row["kind"]) == 2 for row in rows),
        )

    async def _ensure_identity(
        self, channel: str, sender_id: str, locale: str | None, *, looked: bool = False
    ) -> None:
        """`looked`: the caller found no identity a moment ago, so it is made without looking again (one made
        meanwhile by another worker fails the insert, and that is the row we want)."""
        if not looked and await ChannelIdentity.exists(channel=channel, sender_id=sender_id):
            return
        try:
            async with in_transaction():
                # An erased person's turn must not make them again (storage/inbox.py).
                await check_turn_not_withdrawn(lock=self._lock_rows)
                customer = await Customer.create()
                await ChannelIdentity.create(
                    customer_id=customer.id, channel=channel, sender_id=sender_id, locale=locale
                )
        except IntegrityError:
            # Another worker created it first: that is the row we want.
            pass

    @asynccontextmanager
    async def transaction(
        self, channel: str, sender_id: str, message_id: str, locale: str | None = None, *,
        identity_exists: bool | None = None,
    ) -> AsyncIterator[IntakeTransaction]:
        """Raises DuplicateMessage when (channel, message_id) was already recorded. `identity_exists`: whether the
        caller just found the address's identity (look_up), so it need not be looked for first; None: not known."""
        if not identity_exists:
            await self._ensure_identity(channel, sender_id, locale, looked=identity_exists is False)
        for _ in range(2):
            try:
                async with in_transaction() as connection:
                    # Before anything else: an erasure of this person waits for this turn, or this turn, erased
                    # meanwhile, stores nothing (storage/inbox.py).
                    await check_turn_not_withdrawn(lock=self._lock_rows)
                    dialect = connection.capabilities.dialect
                    if dialect == "postgres" and self._lock_rows:
                        await connection.execute_query(native_sql(connection, _LOCK_IDENTITY), [channel, sender_id])
                        rows = await connection.execute_query_dict(
                            native_sql(connection, _IDENTITY_READ_AND_RECEIPT),
                            [channel, sender_id, channel, message_id, datetime.now(UTC)],
                        )
                    else:
                        read = _MARIADB_LOCKED_READ if self._lock_rows and dialect == "mysql" else _IDENTITY_READ
                        rows = await connection.execute_query_dict(native_sql(connection, read), [channel, sender_id])
                    if not rows:
                        # Erased since the caller looked (privacy): made again below, then the turn goes on.
                        raise _IdentityGone()
                    row = rows[0]
                    identity = IdentityRecord(
                        id=int(row["id"]), customer_id=int(row["customer_id"]), channel=channel, sender_id=sender_id,
                        locale=row["locale"], unreachable=bool(row["unreachable"]),
                    )
                    active = None if row["conversation_id"] is None else (int(row["conversation_id"]), row["state"])
                    conversation_id = active[0] if active else None
                    receipt_id = row.get("receipt_id")
                    if receipt_id is None:
                        # Plain SQL: the ORM's create builds a model and its query for one id.
                        [stored] = await insert_rows(
                            InboundReceipt, [{"channel": channel, "message_id": message_id,
                                              "conversation_id": conversation_id}],
                            connection=connection, returning=("id",),
                        )
                        receipt_id = stored["id"]
                    receipt = _Receipt(int(receipt_id), conversation_id)
                    last_inbound_at = _LAST_INBOUND_FIELD.to_python_value(row["last_inbound_at"])
                    tx = IntakeTransaction(connection, identity, row["display_name"], receipt, active,
                                           None if last_inbound_at is None else _as_utc(last_inbound_at))
                    yield tx
                    await tx.flush()
                return
            except _IdentityGone:
                await self._ensure_identity(channel, sender_id, locale)
            except IntegrityError as error:
                if await self.is_duplicate(channel, message_id):
                    raise DuplicateMessage(channel, message_id) from error
                raise
        raise StorageError(f"the {channel} identity vanished twice while a message was being recorded")


class _IdentityGone(StorageError):
    """The identity row a turn expected was not there (erased meanwhile)."""


class DuplicateMessage(StorageError):
    def __init__(self, channel: str, message_id: str) -> None:
        super().__init__(f"{channel} message {message_id} was already handled")
        self.channel = channel
        self.message_id = message_id
