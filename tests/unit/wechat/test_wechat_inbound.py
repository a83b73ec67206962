"""Pushed WeChat documents converted to the neutral Inbound (pure: no server, no database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.channels.wechat_inbound import inbound_from_fields
from bot.channels.wechat_xml import MalformedXml, parse_fields
from bot.messages import GeoPoint, Inbound


class MemoryMedia:
    """Media by id, as media/get would stream them."""

    def __init__(self, media: dict[str, bytes]) -> None:
        self.media = media
        self.opened: list[str] = []

    async def stream_media(self, media_id: str) -> AsyncIterator[bytes]:
        self.opened.append(media_id)
        data = self.media[media_id]
        for start in range(0, len(data), 4):
            yield data[start : start + 4]


def push(msg_type: str, body: str, create_time: int = 1732370000) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{body}</xml>"
    )


def convert(document: str, media: MemoryMedia | None = None, locale: str | None = None) -> Inbound | None:
    return inbound_from_fields(parse_fields(document), media or MemoryMedia({}), locale)


def test_text_keeps_msg_id_sender_and_time() -> None:
    inbound = convert(push("text", "<Content><![CDATA[屏幕碎了]]></Content><MsgId>6001</MsgId>"))
    assert inbound is not None
    assert (inbound.channel, inbound.sender_id, inbound.message_id) == ("wechat", "oUser", "6001")
    assert inbound.text == "屏幕碎了"
    assert inbound.received_at == datetime(2024, 11, 23, 13, 53, 20, tzinfo=UTC)
    assert inbound.locale is None


async def test_image_streams_its_media_only_when_opened() -> None:
    media = MemoryMedia({"M1": b"0123456789"})
    inbound = convert(push("image", "<PicUrl>http://x/y</PicUrl><MediaId>M1</MediaId><MsgId>6002</MsgId>"), media)
    assert inbound is not None and len(inbound.attachments) == 1
    attachment = inbound.attachments[0]
    assert (attachment.kind, attachment.platform_file_id) == ("photo", "M1")
    assert media.opened == []
    assert b"".join([chunk async for chunk in attachment.open_stream()]) == b"0123456789"
    assert media.opened == ["M1"]


def test_voice_uses_recognition_when_present_else_the_file() -> None:
    recognised = convert(
        push(
            "voice",
            "<MediaId>V1</MediaId><Format>amr</Format><Recognition><![CDATA[我要投诉]]></Recognition><MsgId>1</MsgId>",
        )
    )
    assert recognised is not None and recognised.text == "我要投诉" and recognised.attachments == ()
    raw = convert(push("voice", "<MediaId>V1</MediaId><Format>speex</Format><MsgId>2</MsgId>"))
    assert raw is not None and raw.text is None
    assert [(item.kind, item.file_name) for item in raw.attachments] == [("voice", "wechat-voice-2.speex")]


def test_video_file_location_and_link() -> None:
    video = convert(push("shortvideo", "<MediaId>VID</MediaId><ThumbMediaId>T</ThumbMediaId><MsgId>3</MsgId>"))
    assert video is not None and video.attachments[0].kind == "video"
    document = convert(
        push(
            "file",
            "<Title><![CDATA[发票.pdf]]></Title><MediaId>F1</MediaId><FileTotalLen>2048</FileTotalLen><MsgId>4</MsgId>",
        )
    )
    assert document is not None
    assert [(item.kind, item.file_name, item.declared_size) for item in document.attachments] == [
        ("document", "发票.pdf", 2048)
    ]
    place = convert(
        push(
            "location",
            "<Location_X>31.2304</Location_X><Location_Y>121.4737</Location_Y>"
            "<Scale>15</Scale><Label><![CDATA[上海]]></Label><MsgId>5</MsgId>",
        )
    )
    assert place is not None and place.location == GeoPoint(31.2304, 121.4737, "上海")
    link = convert(push("link", "<Title>订单</Title><Url>https://shop.example/o/1</Url><MsgId>6</MsgId>"))
    assert link is not None and link.text == "订单 https://shop.example/o/1"


@pytest.mark.parametrize(
    ("event", "command"),
    [
        ("<Event>subscribe</Event>", "/start"),
        ("<Event>CLICK</Event><EventKey>COMPLAINT</EventKey>", "/start"),
        ("<Event>CLICK</Event><EventKey>STATUS</EventKey>", "status"),
    ],
)
def test_events_become_commands_keyed_by_sender_and_time(event: str, command: str) -> None:
    inbound = convert(push("event", event, create_time=1732370001), locale="zh-CN")
    assert inbound is not None
    assert (inbound.text, inbound.message_id, inbound.locale) == (command, "event:oUser:1732370001", "zh-CN")


@pytest.mark.parametrize(
    "event",
    [
        "<Event>unsubscribe</Event>",
        "<Event>CLICK</Event><EventKey>UNKNOWN</EventKey>",
        "<Event>VIEW</Event>",
        "<Event>LOCATION</Event><Latitude>1</Latitude>",
    ],
)
def test_events_that_ask_nothing_are_ignored(event: str) -> None:
    assert convert(push("event", event)) is None


def test_unknown_message_types_are_ignored() -> None:
    assert convert(push("miniprogrampage", "<MsgId>7</MsgId>")) is None


@pytest.mark.parametrize(
    "document",
    [
        push("text", "<Content>no id</Content>"),
        push("image", "<MsgId>8</MsgId>"),
        push("location", "<Location_X>north</Location_X><Location_Y>1</Location_Y><MsgId>9</MsgId>"),
        push("text", "<Content>x</Content><MsgId>1</MsgId>", create_time=0).replace(">0<", ">soon<"),
        "<xml><MsgType>text</MsgType></xml>",
    ],
)
def test_incomplete_pushes_are_malformed(document: str) -> None:
    with pytest.raises(MalformedXml):
        convert(document)
