"""Plays WeChat's servers: builds pushes, encrypts and signs them with wechatpy (an independent
implementation of the protocol), posts them to Plaint's /wechat and decrypts the answers with wechatpy."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import count
from typing import Literal

import aiohttp
import xmltodict  # type: ignore[import-untyped]
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

TOKEN = "plaintToken2026"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx1234567890abcdef"
APP_SECRET = "app-secret-for-tests"
ACCOUNT = "gh_plaint_account"

Mode = Literal["plain", "aes", "compatible"]


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def message_xml(**fields: str | int | float) -> str:
    """A flat WeChat document; strings go in CDATA like WeChat's own, numbers as they are."""
    body = "".join(
        f"<{name}>{value}</{name}>" if isinstance(value, int | float) else f"<{name}><![CDATA[{value}]]></{name}>"
        for name, value in fields.items()
    )
    return f"<xml>{body}</xml>"


@dataclass
class Answer:
    status: int
    body: str
    seconds: float
    # The passive reply's text, decrypted by wechatpy in safe mode; None when the answer is "success".
    text: str | None = None


@dataclass
class WeChatPlatform:
    session: aiohttp.ClientSession
    url: str
    mode: Mode = "aes"
    crypto: WeChatCrypto = field(default_factory=lambda: WeChatCrypto(TOKEN, AES_KEY, APP_ID))
    # Compatible mode: the plaintext WeChat puts beside Encrypt (a copy of the message unless set).
    plaintext_copy: str | None = None
    _ids: count[int] = field(default_factory=lambda: count(24_000_000_000_000_001))

    def next_msg_id(self) -> int:
        return next(self._ids)

    async def post(self, inner_xml: str, *, timestamp: str | None = None, nonce: str = "1234567") -> Answer:
        timestamp = timestamp or str(int(time.time()))
        query = {
            "signature": sign(TOKEN, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": "ignored",
        }
        body = inner_xml
        if self.mode != "plain":
            envelope = parse_message_fields(self.crypto.encrypt_message(inner_xml, nonce, timestamp))
            encrypted = envelope["Encrypt"]
            query |= {"encrypt_type": "aes", "msg_signature": envelope["MsgSignature"]}
            copy = self.plaintext_copy or inner_xml
            plaintext_part = copy[len("<xml>") : -len("</xml>")] if self.mode == "compatible" else ""
            body = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>{plaintext_part}"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
            )
        return await self.post_raw(body.encode("utf-8"), query)

    async def post_raw(self, body: bytes, query: dict[str, str]) -> Answer:
        started = time.monotonic()
        async with self.session.post(
            self.url, params=query, data=body, headers={"Content-Type": "text/xml"}
        ) as response:
            text = await response.text()
            answer = Answer(response.status, text, time.monotonic() - started)
        if response.status == 200 and text not in ("", "success"):
            answer.text = self.reply_text(text)
        return answer

    def reply_text(self, body: str) -> str:
        if self.mode == "plain":
            reply = parse_message(body)
        else:
            envelope = parse_message_fields(body)
            decrypted = self.crypto.decrypt_message(
                body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
            )
            reply = parse_message(decrypted)
        assert reply.type == "text", reply
        return str(reply.content)


def parse_message_fields(xml: str) -> dict[str, str]:
    parsed = xmltodict.parse(xml)["xml"]
    return {key: str(value) for key, value in parsed.items()}


@dataclass
class WeChatCustomer:
    """One follower of the Official Account, sending what a phone would send."""

    platform: WeChatPlatform
    open_id: str
    _clock: count[int] = field(default_factory=lambda: count(int(time.time())))

    def _common(self, msg_type: str) -> dict[str, str | int | float]:
        return {
            "ToUserName": ACCOUNT,
            "FromUserName": self.open_id,
            "CreateTime": next(self._clock),
            "MsgType": msg_type,
        }

    def text(self, content: str, msg_id: int | None = None) -> str:
        return message_xml(**self._common("text"), Content=content, MsgId=msg_id or self.platform.next_msg_id())

    def image(self, media_id: str, msg_id: int | None = None) -> str:
        return message_xml(
            **self._common("image"),
            PicUrl=f"http://mmbiz.example/{media_id}",
            MediaId=media_id,
            MsgId=msg_id or self.platform.next_msg_id(),
        )

    def voice(self, media_id: str, recognition: str | None = None) -> str:
        extra: dict[str, str] = {"Recognition": recognition} if recognition else {}
        return message_xml(
            **self._common("voice"), MediaId=media_id, Format="amr", **extra, MsgId=self.platform.next_msg_id()
        )

    def location(self, latitude: float, longitude: float, label: str) -> str:
        return message_xml(
            **self._common("location"),
            Location_X=latitude,
            Location_Y=longitude,
            Scale=15,
            Label=label,
            MsgId=self.platform.next_msg_id(),
        )

    def event(self, event: str, key: str | None = None, create_time: int | None = None) -> str:
        common = self._common("event")
        if create_time is not None:
            common["CreateTime"] = create_time
        extra: dict[str, str] = {"EventKey": key} if key is not None else {}
        return message_xml(**common, Event=event, **extra)

    async def send(self, inner_xml: str) -> Answer:
        return await self.platform.post(inner_xml)
