"""Tortoise ORM models. They never leave the storage package: repositories return value objects."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model as TortoiseModel
from tortoise.models import ModelMeta

from storage.crypto import EncryptedJSONField, EncryptedTextField


class _NoSourceCommentsMeta(ModelMeta):
    """Tortoise reads `#:` field comments from each model's source, and inspect.getsource parses this whole
    module once per model: about a second of every start-up for comments Plaint does not write."""

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> Any:
        attrs.setdefault("_no_comments", True)
        return super().__new__(mcs, name, bases, attrs)


class Model(TortoiseModel, metaclass=_NoSourceCommentsMeta):
    class Meta:
        abstract = True


class Customer(Model):
    id = fields.IntField(primary_key=True)
    display_name = EncryptedTextField(null=True)
    lang = fields.CharField(max_length=8, null=True)
    # Set when a platform says the customer blocked us: we stop sending but keep every case.
    unreachable = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "customer"


class ChannelIdentity(Model):
    # A customer's address on one platform; its row is the per-conversation lock on PostgreSQL.

    id = fields.IntField(primary_key=True)
    customer_id: int
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "plaint.Customer", related_name="identities", on_delete=fields.CASCADE
    )
    channel = fields.CharField(max_length=16)
    sender_id = fields.CharField(max_length=255)
    locale = fields.CharField(max_length=32, null=True)
    # Last time the customer wrote to us: WeChat only lets us push within 48 hours of it.
    last_inbound_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "channel_identity"
        unique_together = (("channel", "sender_id"),)


class Conversation(Model):
    id = fields.IntField(primary_key=True)
    identity_id: int
    identity: fields.ForeignKeyRelation[ChannelIdentity] = fields.ForeignKeyField(
        "plaint.ChannelIdentity", related_name="conversations", on_delete=fields.CASCADE
    )
    flow_id = fields.CharField(max_length=100)
    flow_version = fields.IntField()
    step_id = fields.CharField(max_length=100)
    status = fields.CharField(max_length=16, db_index=True)
    lang = fields.CharField(max_length=8)
    # The answers so far (names, phone numbers, free text): encrypted like the case fields.
    state: Any = EncryptedJSONField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "conversation"
        # Every turn looks up the address's active conversation.
        indexes = (("identity_id", "status"),)


class Case(Model):
    id = fields.IntField(primary_key=True)
    customer_id: int
    conversation_id: int | None
    number = fields.CharField(max_length=32, unique=True)
    status = fields.CharField(max_length=32, db_index=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "plaint.Customer", related_name="cases", on_delete=fields.RESTRICT
    )
    conversation: fields.ForeignKeyNullableRelation[Conversation] = fields.ForeignKeyField(
        "plaint.Conversation", related_name="cases", null=True, on_delete=fields.SET_NULL
    )
    channel = fields.CharField(max_length=16)
    sender_id = fields.CharField(max_length=255)
    lang = fields.CharField(max_length=8)
    # Personal data is encrypted at rest (storage.crypto); phone and email are found by their keyed hashes.
    name = EncryptedTextField(null=True)
    phone = EncryptedTextField(null=True)
    email = EncryptedTextField(null=True)
    phone_hash = fields.CharField(max_length=64, null=True, db_index=True)
    email_hash = fields.CharField(max_length=64, null=True, db_index=True)
    description = EncryptedTextField(null=True)
    occurred_at = fields.CharField(max_length=64, null=True)
    occurred_where = EncryptedTextField(null=True)
    product = fields.CharField(max_length=200, null=True)
    product_confidence = fields.FloatField(null=True)
    category = fields.CharField(max_length=100, null=True)
    category_confidence = fields.FloatField(null=True)
    expected_resolution = EncryptedTextField(null=True)
    extra: Any = EncryptedJSONField(default=dict)
    team = fields.CharField(max_length=100, null=True)
    assignee = fields.CharField(max_length=100, null=True)
    slack_channel = fields.CharField(max_length=64, null=True)
    slack_ts = fields.CharField(max_length=64, null=True)
    resolution_summary = EncryptedTextField(null=True)
    resolution_code = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "case"
        # Insight's figures and exports select by filing time (a date range) and group by these.
        # updated_at: the insight rollup's refresh finds the cases changed since its last run.
        # (status, created_at): the backlog counts open cases filed on a day.
        # (team, status): the desk's queue (`/plaint open team NAME`).
        # (customer_id, status): a customer's open and recent cases (a turn's follow-up, merges, data requests).
        indexes = (
            ("created_at", "product", "category"), ("team", "status"), ("updated_at",), ("status", "created_at"),
            ("customer_id", "status"),
        )


def case_changes(**changes: Any) -> dict[str, Any]:
    """The columns of a `Case.filter(...).update(...)`, with `updated_at`: QuerySet.update() skips `auto_now`,
    and the insight rollup (and retention's clock) find changed cases by `updated_at`. Every case write through
    update() goes through here; re-encryption (key rotation) alone does not, since it changes no value."""
    return {**changes, "updated_at": datetime.now(UTC)}


class Evidence(Model):
    id = fields.IntField(primary_key=True)
    conversation_id: int | None
    case_id: int | None
    conversation: fields.ForeignKeyNullableRelation[Conversation] = fields.ForeignKeyField(
        "plaint.Conversation", related_name="evidence", null=True, on_delete=fields.SET_NULL
    )
    case: fields.ForeignKeyNullableRelation[Case] = fields.ForeignKeyField(
        "plaint.Case", related_name="evidence", null=True, on_delete=fields.SET_NULL
    )
    file_name = EncryptedTextField()
    media_type = fields.CharField(max_length=127)
    size = fields.BigIntField()
    sha256 = fields.CharField(max_length=64, db_index=True)
    storage_key = fields.CharField(max_length=255)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "evidence"
        # A case's files (its page, exports, erasure) and a conversation's (linked when the case is filed).
        indexes = (("case_id",), ("conversation_id",))


class InboundReceipt(Model):
    # One row per platform message: the unique key is what makes every webhook idempotent.

    id = fields.IntField(primary_key=True)
    conversation_id: int | None
    channel = fields.CharField(max_length=16)
    message_id = fields.CharField(max_length=255)
    conversation: fields.ForeignKeyNullableRelation[Conversation] = fields.ForeignKeyField(
        "plaint.Conversation", related_name="receipts", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "inbound_receipt"
        unique_together = (("channel", "message_id"),)


class TranscriptMessage(Model):
    id = fields.IntField(primary_key=True)
    conversation_id: int | None
    case_id: int | None
    identity_id: int
    receipt_id: int | None
    conversation: fields.ForeignKeyNullableRelation[Conversation] = fields.ForeignKeyField(
        "plaint.Conversation", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    case: fields.ForeignKeyNullableRelation[Case] = fields.ForeignKeyField(
        "plaint.Case", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    identity: fields.ForeignKeyRelation[ChannelIdentity] = fields.ForeignKeyField(
        "plaint.ChannelIdentity", related_name="messages", on_delete=fields.CASCADE
    )
    receipt: fields.ForeignKeyNullableRelation[InboundReceipt] = fields.ForeignKeyField(
        "plaint.InboundReceipt", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    direction = fields.CharField(max_length=8)  # "in" | "out"
    author = fields.CharField(max_length=16)  # "customer" | "bot" | "agent"
    text = EncryptedTextField(default="")
    payload: Any = EncryptedJSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "transcript_message"
        # Filing marks the conversation's lines with the case; a case's page reads its lines.
        indexes = (("conversation_id",), ("case_id",))


class CaseEvent(Model):
    id = fields.IntField(primary_key=True)
    case_id: int
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "plaint.Case", related_name="events", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=64)
    actor = fields.CharField(max_length=100)
    data: Any = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "case_event"
        # A case's timeline (first reply, first resolution, reopens) by index, for its page and for insight.
        # created_at alone: the insight rollup's refresh finds the events recorded since its last run.
        indexes = (("case_id", "kind", "created_at"), ("created_at",))


class OutboxStatus(StrEnum):
    """Where an outbox row is in its life; only `pending` and `sending` rows are still to be delivered."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    # Left in a platform's HTTP answer (WeChat's passive reply) instead of through its API.
    SENT_PASSIVELY = "sent_passively"
    DEAD = "dead"


class DeadReason(StrEnum):
    """Why a row was given up (the dead letter's reason; `last_error` keeps the platform's words)."""

    RETRIES_EXHAUSTED = "retries_exhausted"
    RATE_LIMITED = "rate_limited"
    UNREACHABLE = "unreachable"
    REFUSED = "refused"
    NO_HANDLER = "no_handler"


class OutboxItem(Model):
    # A message waiting to leave: written in the same transaction as the change that caused it.

    id = fields.IntField(primary_key=True)
    receipt_id: int | None
    # Items with the same ordering key leave in id order: a failing one holds back the ones behind it.
    ordering_key = fields.CharField(max_length=255, db_index=True)
    kind = fields.CharField(max_length=32)
    channel = fields.CharField(max_length=16)
    # Replies repeat what the customer said (the summary before filing): encrypted too.
    payload: Any = EncryptedJSONField()
    status = fields.CharEnumField(OutboxStatus, max_length=16, db_index=True)
    attempts = fields.IntField(default=0)
    available_at = fields.DatetimeField()
    claimed_at = fields.DatetimeField(null=True)
    # The worker holding a `sending` row, and until when: past it, the row is taken again (a crashed worker).
    claimed_by = fields.CharField(max_length=64, null=True)
    lease_until = fields.DatetimeField(null=True)
    # Set just before the platform is called, cleared when the outcome is stored: a row reclaimed with it set
    # was interrupted mid-send, and may have reached the customer.
    attempt_started_at = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    dead_reason = fields.CharEnumField(DeadReason, max_length=32, null=True)
    receipt: fields.ForeignKeyNullableRelation[InboundReceipt] = fields.ForeignKeyField(
        "plaint.InboundReceipt", related_name="outbox_items", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "outbox_item"
        # A retried message is answered with the replies its first delivery queued.
        indexes = (("receipt_id",),)


class InboxStatus(StrEnum):
    """Where a received webhook update is: `pending` and `processing` rows still owe their turn."""

    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    DEAD = "dead"


class InboxItem(Model):
    # A platform update answered on receipt: written by the webhook in one insert, its turn taken later by
    # whichever worker claims it. The unique key makes a retried webhook insert nothing.

    id = fields.IntField(primary_key=True)
    channel = fields.CharField(max_length=16)
    # The platform's id of the update (Telegram's update_id).
    platform_id = fields.CharField(max_length=255)
    # Rows with the same key (one conversation) are processed in id order, one at a time.
    ordering_key = fields.CharField(max_length=255, db_index=True)
    # What the customer sent: encrypted, and emptied once the turn is taken.
    payload: Any = EncryptedJSONField()
    status = fields.CharEnumField(InboxStatus, max_length=16, db_index=True)
    attempts = fields.IntField(default=0)
    available_at = fields.DatetimeField()
    claimed_by = fields.CharField(max_length=64, null=True)
    lease_until = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    done_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbox_item"
        unique_together = (("channel", "platform_id"),)


class DeliveryPace(Model):
    # One platform rate limit shared by every worker: the theoretical arrival time of the next message
    # (GCRA), in seconds since the epoch, moved forward by a conditional update.

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=255, unique=True)
    next_at = fields.FloatField()

    class Meta:
        table = "delivery_pace"


class NlpCorrection(Model):
    # An agent's correction of a product or category: a labelled example for retraining.

    id = fields.IntField(primary_key=True)
    case_id: int | None
    case: fields.ForeignKeyNullableRelation[Case] = fields.ForeignKeyField(
        "plaint.Case", related_name="corrections", null=True, on_delete=fields.SET_NULL
    )
    field = fields.CharField(max_length=32)  # "product" | "category"
    text = EncryptedTextField()
    lang = fields.CharField(max_length=8)
    old_value = fields.CharField(max_length=200, null=True)
    new_value = fields.CharField(max_length=200)
    actor = fields.CharField(max_length=100)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "nlp_correction"


class SharedToken(Model):
    # A platform access token shared by every worker (WeChat allows few token refreshes a day).

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    value = fields.TextField()
    expires_at = fields.DatetimeField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "shared_token"


class SpentLink(Model):
    # A web chat "continue on another device" link that was opened: the unique nonce makes it one-time
    # for every worker. Rows past expires_at say nothing any more (the link's signature has expired too).

    id = fields.IntField(primary_key=True)
    nonce = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "spent_link"


class AssignmentCursor(Model):
    # Where round-robin assignment stopped in each team, shared by every worker.

    id = fields.IntField(primary_key=True)
    team = fields.CharField(max_length=100, unique=True)
    last_agent = fields.CharField(max_length=100, null=True)

    class Meta:
        table = "assignment_cursor"


# --- the admin console: accounts, API tokens, sessions, audit log, flow versions ----------------------------


class AdminUser(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    role = fields.CharField(max_length=16)  # admin | editor | supervisor | viewer
    password_hash = fields.TextField()
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "admin_user"


class AdminSession(Model):
    # Only the SHA-256 of the cookie's token is stored: a leaked table does not open sessions.

    id = fields.IntField(primary_key=True)
    user_id: int
    user: fields.ForeignKeyRelation[AdminUser] = fields.ForeignKeyField(
        "plaint.AdminUser", related_name="sessions", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    csrf_token = fields.CharField(max_length=64)
    expires_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "admin_session"


class ApiToken(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    role = fields.CharField(max_length=16)
    token_hash = fields.CharField(max_length=64, unique=True)
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "api_token"


class LoginAttempt(Model):
    # Failed logins by key (email, source address), shared by every worker for rate limiting.

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=300, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "admin_login_attempt"


class AuditEntry(Model):
    # Append-only: nothing in Plaint updates or deletes a row except retention.

    id = fields.IntField(primary_key=True)
    actor = fields.CharField(max_length=300)
    via = fields.CharField(max_length=16)  # console | api | cli
    source_ip = fields.CharField(max_length=64, null=True)
    action = fields.CharField(max_length=64)
    object_type = fields.CharField(max_length=32, db_index=True)
    object_id = fields.CharField(max_length=255)
    before: Any = fields.JSONField(null=True)
    after: Any = fields.JSONField(null=True)
    changes: Any = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "audit_entry"


class FlowVersion(Model):
    # A published flow version: never updated, a rollback publishes a copy as a new version.

    id = fields.IntField(primary_key=True)
    flow_id = fields.CharField(max_length=64)
    version = fields.IntField()
    definition: Any = fields.JSONField()
    published_by = fields.CharField(max_length=300)
    note = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "flow_version"
        unique_together = (("flow_id", "version"),)


class FlowDraft(Model):
    # The one draft of a flow; stored even when invalid, so an editor never loses work.

    id = fields.IntField(primary_key=True)
    flow_id = fields.CharField(max_length=64, unique=True)
    definition: Any = fields.JSONField()
    updated_by = fields.CharField(max_length=300)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "flow_draft"

class Timer(Model):
    # A due time kept in the database (SLA deadlines, reminders): claimed once by whichever worker is free,
    # like the outbox, so timers survive restarts and never fire twice.

    id = fields.IntField(primary_key=True)
    case_id: int | None
    case: fields.ForeignKeyNullableRelation[Case] = fields.ForeignKeyField(
        "plaint.Case", related_name="timers", null=True, on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=32)
    # What the timer is about inside its case (e.g. "sla:first_response"): replacing or cancelling by key.
    key = fields.CharField(max_length=100, db_index=True)
    due_at = fields.DatetimeField(db_index=True)
    payload: Any = fields.JSONField(default=dict)
    status = fields.CharField(max_length=16, db_index=True)  # pending | firing | fired | cancelled | dead
    claimed_by = fields.CharField(max_length=100, null=True)
    lease_until = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    fired_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "timer"
        # What every claim asks: pending timers in due order.
        indexes = (("status", "due_at"),)


class CaseLink(Model):
    # "Possibly the same complaint": a newer case and the earlier one it may repeat, suggested by Plaint, then
    # linked or dismissed by the customer or an agent. Linked cases show each other.

    id = fields.IntField(primary_key=True)
    case_id: int
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "plaint.Case", related_name="duplicate_links", on_delete=fields.CASCADE
    )
    earlier_case_id: int
    earlier_case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "plaint.Case", related_name="repeated_by_links", on_delete=fields.CASCADE
    )
    status = fields.CharField(max_length=16)  # suggested | linked | not_duplicate
    reasons: Any = fields.JSONField(default=list)
    decided_by = fields.CharField(max_length=100, null=True)
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "case_link"
        unique_together = (("case", "earlier_case"),)


class CaseSla(Model):
    # The SLA a case started with: the policy is copied here, so editing the policy file changes new cases only.

    id = fields.IntField(primary_key=True)
    case_id: int
    case: fields.OneToOneRelation[Case] = fields.OneToOneField(
        "plaint.Case", related_name="sla", on_delete=fields.CASCADE
    )
    policy_name = fields.CharField(max_length=100)
    policy: Any = fields.JSONField()
    priority = fields.CharField(max_length=16, null=True)
    state = fields.CharField(max_length=16)  # active | hit | missed
    breached_metric = fields.CharField(max_length=32, null=True)
    started_at = fields.DatetimeField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "case_sla"


class SlaClock(Model):
    # One running target of a case (first response, next response, resolution). Business time used before
    # the last pause is kept in consumed_seconds; due_at is only set while the clock runs.

    id = fields.IntField(primary_key=True)
    case_id: int
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "plaint.Case", related_name="sla_clocks", on_delete=fields.CASCADE
    )
    metric = fields.CharField(max_length=32)
    status = fields.CharField(max_length=16)  # running | paused | met | breached | stopped
    target_seconds = fields.IntField()
    consumed_seconds = fields.IntField(default=0)
    running_since = fields.DatetimeField(null=True)
    due_at = fields.DatetimeField(null=True)
    # Bumped on every change: a timer scheduled for an older generation is stale and does nothing.
    generation = fields.IntField(default=0)
    breached = fields.BooleanField(default=False)

    class Meta:
        table = "sla_clock"
        unique_together = (("case", "metric"),)
        # The desk's queue reads the nearest running due times first: without this, every clock ever kept.
        indexes = (("status", "due_at"),)


class SlaEvent(Model):
    # The clock timeline of a case, stamped with the service's clock (started, paused, resumed, warned,
    # breached, met).

    id = fields.IntField(primary_key=True)
    case_id: int
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "plaint.Case", related_name="sla_events", on_delete=fields.CASCADE
    )
    metric = fields.CharField(max_length=32)
    kind = fields.CharField(max_length=16)
    at = fields.DatetimeField()
    data: Any = fields.JSONField(default=dict)

    class Meta:
        table = "sla_event"


class CasePriority(Model):
    # A case's priority: set by the priority rules when the case is routed, changed by agents later.

    id = fields.IntField(primary_key=True)
    case_id: int
    case: fields.OneToOneRelation[Case] = fields.OneToOneField(
        "plaint.Case", related_name="priority", on_delete=fields.CASCADE
    )
    priority = fields.CharField(max_length=16, db_index=True)  # low | normal | high | urgent
    source = fields.CharField(max_length=16)  # rules | agent
    reasons: Any = fields.JSONField(default=list)
    set_by = fields.CharField(max_length=100)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "case_priority"


class CsatSurvey(Model):
    # One satisfaction survey per case, asked on the customer's own channel: one answer, never a link.

    id = fields.IntField(primary_key=True)
    case_id: int
    case: fields.OneToOneRelation[Case] = fields.OneToOneField(
        "plaint.Case", related_name="csat", on_delete=fields.CASCADE
    )
    channel = fields.CharField(max_length=16)
    sender_id = fields.CharField(max_length=255)
    lang = fields.CharField(max_length=8)
    status = fields.CharField(max_length=20)  # asked | awaiting_comment | answered | not_asked
    score = fields.IntField(null=True)
    # The customer's own words: encrypted like the case fields.
    comment = EncryptedTextField(null=True)
    # Why the survey was not asked (the WeChat 48-hour window, an unreachable customer).
    reason = fields.CharField(max_length=64, null=True)
    asked_at = fields.DatetimeField(null=True)
    answered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "csat_survey"
        indexes = (("channel", "sender_id"),)


# --- operations (issue 15): outbound webhooks, helpdesk tickets, worker heartbeats ------------------------


class WebhookSubscription(Model):
    # A receiver of case events; the secret signs every delivery, so it is stored (not hashed).

    id = fields.IntField(primary_key=True)
    url = fields.CharField(max_length=2000)
    events: Any = fields.JSONField(default=list)
    # Encrypted at rest like personal data: a leaked table must not let anyone forge our deliveries.
    secret = EncryptedTextField()
    may_see_personal_data = fields.BooleanField(default=False)
    # A disabled subscription keeps its delivery log but receives no new events.
    active = fields.BooleanField(default=True, db_default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "webhook_subscription"


class WebhookDelivery(Model):
    # One event for one subscription: the delivery log, dead letters and replays live here.

    id = fields.IntField(primary_key=True)
    subscription_id: int | None
    replay_of_id: int | None
    subscription: fields.ForeignKeyNullableRelation[WebhookSubscription] = fields.ForeignKeyField(
        "plaint.WebhookSubscription", related_name="deliveries", null=True, on_delete=fields.SET_NULL
    )
    # Fan-out may run twice (a worker dying after its commit): the key makes the second run a no-op.
    dedupe_key = fields.CharField(max_length=128, unique=True)
    event_id = fields.CharField(max_length=64, db_index=True)
    event_type = fields.CharField(max_length=64)
    case_number = fields.CharField(max_length=32, db_index=True)
    # The event as sent: it carries contact details for receivers allowed to see them, so it is encrypted.
    body: Any = EncryptedJSONField()
    status = fields.CharField(max_length=16, db_index=True)  # pending | delivered | failed | dead | cancelled
    attempts = fields.IntField(default=0)
    last_status_code = fields.IntField(null=True)
    last_error = fields.TextField(null=True)
    replay_of: fields.ForeignKeyNullableRelation[WebhookDelivery] = fields.ForeignKeyField(
        "plaint.WebhookDelivery", related_name="replays", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_delivery"


class ExternalTicket(Model):
    # The helpdesk ticket (Zendesk, Freshdesk, a tracker's work item) that mirrors a case.

    id = fields.IntField(primary_key=True)
    case_id: int
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "plaint.Case", related_name="external_tickets", on_delete=fields.CASCADE
    )
    connector = fields.CharField(max_length=32)
    ticket_id = fields.CharField(max_length=100)
    synced_status = fields.CharField(max_length=32, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "external_ticket"
        unique_together = (("case", "connector"),)


class WorkerHeartbeat(Model):
    # Each serving process beats here while its outbox worker runs; /readyz and `plaint doctor` read it.

    id = fields.IntField(primary_key=True)
    worker = fields.CharField(max_length=100, unique=True)
    beat_at = fields.DatetimeField()

    class Meta:
        table = "worker_heartbeat"


class KeyRotation(Model):
    # How far `plaint keys rotate` got in each table for one target key: a killed run resumes after the last
    # batch it committed (the batch and this row are written in one transaction).

    id = fields.IntField(primary_key=True)
    key_id = fields.CharField(max_length=32)
    table = fields.CharField(max_length=64)
    last_id = fields.IntField(default=0)
    done = fields.BooleanField(default=False)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "key_rotation"
        unique_together = (("key_id", "table"),)

class RetentionPolicyText(Model):
    # The retention policy as edited in the console (YAML text); while none is stored, PLAINT_RETENTION_FILE.

    id = fields.IntField(primary_key=True)
    text = fields.TextField()
    updated_by = fields.CharField(max_length=300)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "retention_policy"


class FlowStepEvent(Model):
    # One row per step a conversation was asked, answered or re-asked: the raw material of drop-off per step.

    id = fields.IntField(primary_key=True)
    conversation_id: int | None
    conversation: fields.ForeignKeyNullableRelation[Conversation] = fields.ForeignKeyField(
        "plaint.Conversation", related_name="step_events", null=True, on_delete=fields.SET_NULL
    )
    flow_id = fields.CharField(max_length=100)
    flow_version = fields.IntField()
    channel = fields.CharField(max_length=16)
    step_id = fields.CharField(max_length=100)
    outcome = fields.CharField(max_length=16)  # asked | answered | reasked
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "flow_step_event"
        indexes = (("flow_id", "flow_version", "step_id"),)


class SettingsVersion(Model):
    # One saved version of a desk settings document (catalog, taxonomy, routing, sla), immutable; the newest
    # of each kind is in force on every worker. No row of a kind: the shipped or configured file is in force.

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=32)
    version = fields.IntField()
    document: Any = fields.JSONField()
    saved_by = fields.CharField(max_length=300)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "settings_version"
        unique_together = (("kind", "version"),)


class SavedCaseView(Model):
    # A supervisor's named case filter (the case list's query), shared with everyone who may read cases.

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    query: Any = fields.JSONField()
    created_by = fields.CharField(max_length=300)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "saved_case_view"


class SpikeAlert(Model):
    # One per product x category x day that spiked: the alert is posted once, whichever worker checks.
    id = fields.IntField(primary_key=True)
    product = fields.CharField(max_length=200)  # "" when the cases have no product
    category = fields.CharField(max_length=100)  # "" when the cases have no category
    day = fields.DateField()
    cases = fields.IntField()
    baseline_mean = fields.FloatField()
    threshold = fields.FloatField()
    examples: Any = fields.JSONField(default=list)  # case numbers, newest first
    created_at = fields.DatetimeField()

    class Meta:
        table = "spike_alert"
        unique_together = (("product", "category", "day"),)


# --- insight rollups (issue 13): the dashboard's figures pre-aggregated per day ----------------------------------

# Durations are kept as counts per bucket; storage/insight_rollup.py holds the bucket edges (DURATION_EDGES).
ROLLUP_BUCKETS = 34


class InsightDaily(Model):
    # Cases filed on one day (business time zone) with one channel, language, team, product and category ("" for
    # none), counted; rebuilt per day by the rollup refresh on the worker's timer (storage/insight_rollup.py).
    # `grain` names the dimensions a row keeps ("product,category"; "" for the day's total); the others are "".
    id = fields.IntField(primary_key=True)
    grain = fields.CharField(max_length=64)
    day = fields.DateField()
    channel = fields.CharField(max_length=16)
    lang = fields.CharField(max_length=8)
    team = fields.CharField(max_length=100)
    product = fields.CharField(max_length=200)
    category = fields.CharField(max_length=100)
    cases = fields.IntField(default=0)
    responded = fields.IntField(default=0)
    resolved = fields.IntField(default=0)
    reopened = fields.IntField(default=0)
    csat_asked = fields.IntField(default=0)
    csat_answered = fields.IntField(default=0)
    csat_score_sum = fields.IntField(default=0)
    sla_hit = fields.IntField(default=0)
    sla_missed = fields.IntField(default=0)
    product_nlp = fields.IntField(default=0)
    product_corrected = fields.IntField(default=0)
    category_nlp = fields.IntField(default=0)
    category_corrected = fields.IntField(default=0)
    open_cases = fields.IntField(default=0)  # open at the last refresh (the backlog)
    # Histograms: first response (r00..) and first resolution (s00..) durations, cases per bucket.
    for _bucket in range(ROLLUP_BUCKETS):
        locals()[f"r{_bucket:02d}"] = fields.IntField(default=0)
        locals()[f"s{_bucket:02d}"] = fields.IntField(default=0)
    del _bucket

    class Meta:
        table = "insight_daily"
        unique_together = (("grain", "day", "channel", "lang", "team", "product", "category"),)


class InsightRollupState(Model):
    # How far the rollup is current: the time zone its days are in and the moment of the last refresh.
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=32, unique=True)
    timezone = fields.CharField(max_length=64)
    watermark = fields.DatetimeField()
    rebuilt_at = fields.DatetimeField()
    # A refresh done in chunks (one day range per timer firing): the moment the pass started, which becomes the
    # watermark when it ends, and the first filing day it has still to recompute. Both null between passes.
    pass_until = fields.DatetimeField(null=True)
    pass_next = fields.DateField(null=True)

    class Meta:
        table = "insight_rollup_state"


class InsightDirtyDay(Model):
    # A filing day (in the rollup's time zone) that lost cases: a deleted row leaves nothing for the refresh to
    # find, so the delete records its day here in its own transaction (storage/insight_rollup.delete_cases) and
    # the next refresh recomputes it, then drops the rows it read. Several rows may name one day.
    id = fields.IntField(primary_key=True)
    day = fields.DateField()

    class Meta:
        table = "insight_dirty_day"
