"""The one channel-neutral message type: every channel converts to `Inbound` and from `Outbound`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast, get_args

ChannelName = Literal["console", "web", "telegram", "slack", "wechat"]
# What a button does, so a channel can style it without knowing the flow engine's values (mirrors
# flows.ChoiceRole: the intake copies one into the other).
ButtonRole = Literal["answer", "yes", "no", "done", "skip", "keep", "confirm", "edit", "cancel", "new_complaint"]
BUTTON_ROLES: frozenset[str] = frozenset(get_args(ButtonRole))
AttachmentKind = Literal["photo", "video", "document", "audio", "voice"]

# Opens the attachment's bytes as a stream; called by the intake service only when the current flow step
# accepts files, so nothing is downloaded that would be refused anyway.
ByteStreamOpener = Callable[[], AsyncIterator[bytes]]


@dataclass(frozen=True)
class Attachment:
    kind: AttachmentKind
    open_stream: ByteStreamOpener
    file_name: str | None = None
    declared_media_type: str | None = None
    # What the platform says about the size (checked before downloading when known).
    declared_size: int | None = None
    # Platform file id, kept for the transcript.
    platform_file_id: str | None = None


@dataclass(frozen=True)
class GeoPoint:
    latitude: float
    longitude: float
    label: str | None = None


@dataclass(frozen=True)
class Inbound:
    """One message from a customer, already verified and converted by its channel."""

    channel: ChannelName
    # Who is talking, stable per platform (chat id, user id, openid, browser session id).
    sender_id: str
    # The platform's id of this message (update_id, event_id, MsgId...): the de-duplication key.
    message_id: str
    received_at: datetime
    text: str | None = None
    # Value of a pressed button.
    choice: str | None = None
    attachments: tuple[Attachment, ...] = ()
    location: GeoPoint | None = None
    # Platform language code ("en-US", "zh-hans"), when the platform tells.
    locale: str | None = None
    display_name: str | None = None
    # The platform id of the earlier message this one edits (Telegram edited_message).
    edits_message_id: str | None = None


@dataclass(frozen=True)
class Button:
    value: str
    label: str
    role: ButtonRole = "answer"


# Outbound metadata key and value marking a re-ask after a refused answer.
TONE = "tone"
ERROR_TONE = "error"


@dataclass(frozen=True)
class OutboundFile:
    """A file for a customer (an agent's file share from the case thread). The outbox keeps `evidence_id` (the
    stored copy); when it delivers it hands the channel `open_stream` (the bytes, streamed) and `url` (a signed,
    expiring link), so a channel sends the file itself where the platform allows it and the link otherwise."""

    name: str
    media_type: str
    size: int
    evidence_id: int
    url: str | None = None
    open_stream: ByteStreamOpener | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Outbound:
    """One message to a customer; `buttons` fall back to numbered options where a platform has none."""

    channel: ChannelName
    recipient_id: str
    text: str
    buttons: tuple[Button, ...] = ()
    # Outbox id once persisted; channels use it as an idempotency key where the platform supports one.
    outbox_id: int | None = None
    kind: Literal["reply", "agent_reply", "status_update"] = "reply"
    metadata: tuple[tuple[str, str], ...] = field(default=())
    files: tuple[OutboundFile, ...] = ()


@dataclass(frozen=True)
class IntakeResult:
    """What the intake made of one `Inbound`: the replies it queued (with their outbox ids), and the case
    filed by this message, if any. `duplicate` is a platform retry answered from the outbox."""

    duplicate: bool
    replies: tuple[Outbound, ...]
    case_number: str | None = None


@dataclass(frozen=True)
class MailboxMessage:
    """One line of a customer's transcript, as a channel whose customers read it (web chat) shows it."""

    id: int
    direction: str
    author: str
    text: str
    files: tuple[str, ...] = ()
    buttons: tuple[Button, ...] = ()
    # Signed links to files sent to the customer (an agent's files), in the order of their names in `files`.
    file_links: tuple[str, ...] = ()
    # A re-ask after a refused answer (metadata TONE = ERROR_TONE on the outbound message).
    error: bool = False


def outbound_to_payload(message: Outbound) -> dict[str, Any]:
    """The JSON an outbox row keeps of a message (the channel and the outbox id live in their own columns)."""
    return {
        "recipient_id": message.recipient_id,
        "text": message.text,
        "buttons": [[button.value, button.label, button.role] for button in message.buttons],
        "kind": message.kind,
        "metadata": [list(pair) for pair in message.metadata],
        **({"files": [outbound_file_to_payload(item) for item in message.files]} if message.files else {}),
    }


def outbound_file_to_payload(item: OutboundFile) -> dict[str, Any]:
    return {"evidence_id": item.evidence_id, "name": item.name, "media_type": item.media_type, "size": item.size}


def outbound_files_from_payload(items: Any) -> tuple[OutboundFile, ...]:
    """The agent files of a stored payload; entries without an evidence id (a customer's upload) are not."""
    files: list[OutboundFile] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("evidence_id"), int):
            files.append(OutboundFile(str(item.get("name") or "file"), str(item.get("media_type") or
                                      "application/octet-stream"), int(item.get("size") or 0), item["evidence_id"]))
    return tuple(files)


def outbound_from_payload(channel: str, payload: Mapping[str, Any], outbox_id: int | None) -> Outbound:
    return Outbound(
        channel=cast(ChannelName, channel),
        recipient_id=str(payload["recipient_id"]),
        text=str(payload["text"]),
        buttons=tuple(button_from_payload(item) for item in payload.get("buttons", [])),
        outbox_id=outbox_id,
        kind=payload.get("kind", "reply"),
        metadata=tuple((str(key), str(value)) for key, value in payload.get("metadata", [])),
        files=outbound_files_from_payload(payload.get("files")),
    )


def button_from_payload(item: Any) -> Button:
    """A stored button: [value, label, role], or [value, label] as rows written before roles existed."""
    value, label, *rest = item
    role = str(rest[0]) if rest and str(rest[0]) in BUTTON_ROLES else "answer"
    return Button(str(value), str(label), cast(ButtonRole, role))
