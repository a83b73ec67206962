"""WeChat's XML: parsing pushed messages safely and building passive replies.

WeChat pushes flat documents (`<xml><ToUserName>...</ToUserName>...</xml>`). Parsing goes through
defusedxml with DTDs forbidden, so an external entity or a billion-laughs payload is refused before any
expansion happens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError

import defusedxml
import defusedxml.ElementTree

from bot.channels.wechat_crypto import WeChatCipher, signature_of
from bot.errors import PlaintError


class MalformedXml(PlaintError, ValueError):
    """Not a flat WeChat XML document, or one carrying a DTD/entities (refused, never expanded)."""


@dataclass(frozen=True)
class WeChatFields:
    """The child elements of one WeChat XML document, by tag name (all values are text)."""

    values: Mapping[str, str]

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if value else None

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise MalformedXml(f"missing <{name}>")
        return value


def parse_fields(document: bytes | str) -> WeChatFields:
    try:
        root = defusedxml.ElementTree.fromstring(document, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, defusedxml.DefusedXmlException) as error:
        raise MalformedXml(str(error)) from error
    if root.tag != "xml":
        raise MalformedXml("root element is not <xml>")
    # Nested elements (e.g. ScanCodeInfo) are flattened to their text; Plaint uses top-level fields only.
    return WeChatFields({child.tag: (child.text or "").strip() for child in root})


def _cdata(text: str) -> str:
    # "]]>" would end the section early: split it across two CDATA sections.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply_xml(to_user: str, from_user: str, create_time: int, content: str) -> str:
    """The passive reply of type text (the only kind Plaint answers with)."""
    return (
        "<xml>"
        f"<ToUserName>{_cdata(to_user)}</ToUserName>"
        f"<FromUserName>{_cdata(from_user)}</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content>"
        "</xml>"
    )


def encrypted_envelope_xml(cipher: WeChatCipher, token: str, xml: str, timestamp: str, nonce: str) -> str:
    """A safe-mode reply: the encrypted XML plus msg_signature over token, timestamp, nonce and Encrypt."""
    encrypted = cipher.encrypt(xml)
    return (
        "<xml>"
        f"<Encrypt>{_cdata(encrypted)}</Encrypt>"
        f"<MsgSignature>{_cdata(signature_of(token, timestamp, nonce, encrypted))}</MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp>"
        f"<Nonce>{_cdata(nonce)}</Nonce>"
        "</xml>"
    )
