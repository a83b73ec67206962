"""Tortoise ORM models. They never leave the storage package: repositories return value objects."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Customer(Model):
    id = fields.IntField(primary_key=True)
    display_name = fields.CharField(max_length=200, null=True)
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
    state: Any = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "conversation"


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
    name = fields.CharField(max_length=200, null=True)
    phone = fields.CharField(max_length=32, null=True)
    email = fields.CharField(max_length=254, null=True)
    description = fields.TextField(null=True)
    occurred_at = fields.CharField(max_length=64, null=True)
    occurred_where = fields.TextField(null=True)
    product = fields.CharField(max_length=200, null=True)
    product_confidence = fields.FloatField(null=True)
    category = fields.CharField(max_length=100, null=True)
    category_confidence = fields.FloatField(null=True)
    expected_resolution = fields.TextField(null=True)
    extra: Any = fields.JSONField(default=dict)
    team = fields.CharField(max_length=100, null=True)
    assignee = fields.CharField(max_length=100, null=True)
    slack_channel = fields.CharField(max_length=64, null=True)
    slack_ts = fields.CharField(max_length=64, null=True)
    resolution_summary = fields.TextField(null=True)
    resolution_code = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "case"


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
    file_name = fields.CharField(max_length=255)
    media_type = fields.CharField(max_length=127)
    size = fields.BigIntField()
    sha256 = fields.CharField(max_length=64, db_index=True)
    storage_key = fields.CharField(max_length=255)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "evidence"


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
    text = fields.TextField(default="")
    payload: Any = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "transcript_message"


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


class OutboxItem(Model):
    # A message waiting to leave: written in the same transaction as the change that caused it.

    id = fields.IntField(primary_key=True)
    receipt_id: int | None
    # Items with the same ordering key leave in id order: a failing one holds back the ones behind it.
    ordering_key = fields.CharField(max_length=255, db_index=True)
    kind = fields.CharField(max_length=32)
    channel = fields.CharField(max_length=16)
    payload: Any = fields.JSONField()
    status = fields.CharField(max_length=16, db_index=True)  # pending | sending | sent | dead
    attempts = fields.IntField(default=0)
    available_at = fields.DatetimeField()
    claimed_at = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    receipt: fields.ForeignKeyNullableRelation[InboundReceipt] = fields.ForeignKeyField(
        "plaint.InboundReceipt", related_name="outbox_items", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "outbox_item"


class NlpCorrection(Model):
    # An agent's correction of a product or category: a labelled example for retraining.

    id = fields.IntField(primary_key=True)
    case_id: int | None
    case: fields.ForeignKeyNullableRelation[Case] = fields.ForeignKeyField(
        "plaint.Case", related_name="corrections", null=True, on_delete=fields.SET_NULL
    )
    field = fields.CharField(max_length=32)  # "product" | "category"
    text = fields.TextField()
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


class AssignmentCursor(Model):
    # Where round-robin assignment stopped in each team, shared by every worker.

    id = fields.IntField(primary_key=True)
    team = fields.CharField(max_length=100, unique=True)
    last_agent = fields.CharField(max_length=100, null=True)

    class Meta:
        table = "assignment_cursor"


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
