"""Tortoise ORM models. They never leave the storage package: repositories return value objects."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from storage.crypto import EncryptedJSONField, EncryptedTextField


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
    # Replies repeat what the customer said (the summary before filing): encrypted too.
    payload: Any = EncryptedJSONField()
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


class AssignmentCursor(Model):
    # Where round-robin assignment stopped in each team, shared by every worker.

    id = fields.IntField(primary_key=True)
    team = fields.CharField(max_length=100, unique=True)
    last_agent = fields.CharField(max_length=100, null=True)

    class Meta:
        table = "assignment_cursor"


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
