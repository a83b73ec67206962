"""WeChat pushes as the neutral `Inbound`: message types and menu events, media as lazy downloads."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.channels.base import MAX_INBOUND_TEXT_CHARS, StorableStr, validation_reason
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



class WeChatPush(BaseModel):
    """The fields of a decrypted push that Plaint reads, each with a limit; tag names as WeChat sends them.
    Everything arrives as text; numbers are checked by shape here and converted where they are used."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    to_user: StorableStr | None = Field(default=None, alias="ToUserName", max_length=64)
    # An openid: 28 characters today; identifiers of this shape only.
    from_user: str = Field(alias="FromUserName", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    create_time: str = Field(alias="CreateTime", pattern=r"^[0-9]{1,11}$")
    msg_type: str = Field(alias="MsgType", max_length=32)
    msg_id: str | None = Field(default=None, alias="MsgId", pattern=r"^[0-9]{1,24}$")
    content: StorableStr | None = Field(default=None, alias="Content", max_length=MAX_INBOUND_TEXT_CHARS)
    media_id: str | None = Field(default=None, alias="MediaId", max_length=256, pattern=r"^[A-Za-z0-9_=+/.-]+$")
    recognition: StorableStr | None = Field(default=None, alias="Recognition", max_length=MAX_INBOUND_TEXT_CHARS)
    format: str | None = Field(default=None, alias="Format", max_length=16, pattern=r"^[A-Za-z0-9]+$")
    title: StorableStr | None = Field(default=None, alias="Title", max_length=255)
    url: StorableStr | None = Field(default=None, alias="Url", max_length=2048)
    file_total_len: str | None = Field(default=None, alias="FileTotalLen", pattern=r"^[0-9]{1,15}$")
    location_x: str | None = Field(default=None, alias="Location_X", max_length=32)
    location_y: str | None = Field(default=None, alias="Location_Y", max_length=32)
    label: StorableStr | None = Field(default=None, alias="Label", max_length=512)
    event: StorableStr | None = Field(default=None, alias="Event", max_length=64)
    event_key: StorableStr | None = Field(default=None, alias="EventKey", max_length=256)


def checked_fields(fields: WeChatFields) -> WeChatFields:
    """The push's fields once each is within its limits (and storable); MalformedXml naming the first that
    is not."""
    try:
        push = WeChatPush.model_validate(dict(fields.values))
    except ValidationError as error:
        raise MalformedXml(validation_reason(error)) from None
    return WeChatFields(push.model_dump(by_alias=True, exclude_none=True))


def inbound_from_fields(fields: WeChatFields, api: MediaSource, event_locale: str | None = None) -> Inbound | None:
    """The neutral message for one decrypted push, or None for pushes that ask nothing of us."""
    fields = checked_fields(fields)
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
            latitude, longitude = float(fields.require("Location_X")), float(fields.require("Location_Y"))
        except ValueError as error:
            raise MalformedXml("location is not numeric") from error
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise MalformedXml("location is out of range")
        return replace(base, location=GeoPoint(latitude, longitude, fields.get("Label")))
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
