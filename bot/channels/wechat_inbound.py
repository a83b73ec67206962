"""WeChat pushes as the neutral `Inbound`: message types and menu events, media as lazy downloads."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from bot.channels.wechat_xml import MalformedXml, WeChatFields
from bot.messages import Attachment, AttachmentKind, ByteStreamOpener, GeoPoint, Inbound

log = logging.getLogger(__name__)

# Menu keys configured in the Official Account's custom menu, and the command each one stands for.
MENU_COMMANDS = {"COMPLAINT": "/start", "STATUS": "status"}


class MediaSource(Protocol):
    def stream_media(self, media_id: str) -> AsyncIterator[bytes]: ...


def media_opener(api: MediaSource, media_id: str) -> ByteStreamOpener:
    def open_stream() -> AsyncIterator[bytes]:
        return api.stream_media(media_id)

    return open_stream


def inbound_from_fields(fields: WeChatFields, api: MediaSource, event_locale: str | None = None) -> Inbound | None:
    """The neutral message for one decrypted push, or None for pushes that ask nothing of us."""
    open_id = fields.require("FromUserName")
    create_time = fields.require("CreateTime")
    try:
        received_at = datetime.fromtimestamp(int(create_time), UTC)
    except (ValueError, OverflowError) as error:
        raise MalformedXml("CreateTime is not a timestamp") from error
    kind = fields.require("MsgType")
    if kind == "event":
        return _event_inbound(fields, open_id, create_time, received_at, event_locale)
    message_id = fields.require("MsgId")
    base = Inbound(channel="wechat", sender_id=open_id, message_id=message_id, received_at=received_at)

    def media(kind: AttachmentKind, file_name: str, size: str | None = None) -> tuple[Attachment]:
        media_id = fields.require("MediaId")
        return (
            Attachment(
                kind=kind,
                open_stream=media_opener(api, media_id),
                file_name=file_name,
                declared_size=int(size) if size and size.isdigit() else None,
                platform_file_id=media_id,
            ),
        )

    if kind == "text":
        return replace(base, text=fields.require("Content"))
    if kind == "image":
        return replace(base, attachments=media("photo", f"wechat-photo-{message_id}.jpg"))
    if kind == "voice":
        recognition = fields.get("Recognition")
        if recognition:
            return replace(base, text=recognition)
        voice_format = fields.get("Format") or "amr"
        return replace(base, attachments=media("voice", f"wechat-voice-{message_id}.{voice_format}"))
    if kind in ("video", "shortvideo"):
        return replace(base, attachments=media("video", f"wechat-video-{message_id}.mp4"))
    if kind == "file":
        name = fields.get("Title") or f"wechat-file-{message_id}"
        return replace(base, attachments=media("document", name, fields.get("FileTotalLen")))
    if kind == "location":
        try:
            point = GeoPoint(
                float(fields.require("Location_X")), float(fields.require("Location_Y")), fields.get("Label")
            )
        except ValueError as error:
            raise MalformedXml("location is not numeric") from error
        return replace(base, location=point)
    if kind == "link":
        return replace(base, text=" ".join(part for part in (fields.get("Title"), fields.get("Url")) if part))
    log.info("wechat message type %s ignored", kind)
    return None


def _event_inbound(
    fields: WeChatFields, open_id: str, create_time: str, received_at: datetime, locale: str | None
) -> Inbound | None:
    event = (fields.get("Event") or "").lower()
    command: str | None = None
    if event == "subscribe":
        command = "/start"
    elif event == "click":
        command = MENU_COMMANDS.get(fields.get("EventKey") or "")
    if command is None:
        # unsubscribe, VIEW, LOCATION reports, scans: nothing to answer (after unsubscribe WeChat would
        # refuse anything we send; custom/send then answers 43004 and the customer is marked unreachable).
        log.info("wechat event %s from a customer ignored", event or "?")
        return None
    # Events carry no MsgId: WeChat's own de-duplication key is FromUserName + CreateTime.
    return Inbound(
        channel="wechat",
        sender_id=open_id,
        message_id=f"event:{open_id}:{create_time}",
        received_at=received_at,
        text=command,
        locale=locale,
    )
