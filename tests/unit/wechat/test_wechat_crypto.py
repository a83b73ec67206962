"""Our side of WeChat's safe mode checked against wechatpy, an independent implementation."""

from __future__ import annotations

import base64
import os
import time

import pytest
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature as wechatpy_check_signature

from bot.channels.wechat_crypto import (
    InvalidAesKey,
    InvalidAppId,
    InvalidCiphertext,
    InvalidSignature,
    WeChatCipher,
    check_signature,
    signature_of,
)
from bot.channels.wechat_xml import (
    MalformedXml,
    encrypted_envelope_xml,
    parse_fields,
    text_reply_xml,
)

TOKEN = "plaintToken2026"
APP_ID = "wx1234567890abcdef"
AES_KEY = base64.b64encode(bytes(range(32))).decode("ascii").rstrip("=")


def test_signature_matches_wechatpy_and_refuses_a_forged_one() -> None:
    timestamp, nonce = "1732370000", "48213"
    signature = signature_of(TOKEN, timestamp, nonce)
    wechatpy_check_signature(TOKEN, signature, timestamp, nonce)  # raises when it disagrees
    check_signature(signature, TOKEN, timestamp, nonce)
    check_signature(signature.upper(), TOKEN, timestamp, nonce)
    with pytest.raises(InvalidSignature):
        check_signature("0" * 40, TOKEN, timestamp, nonce)
    with pytest.raises(InvalidSignature):
        check_signature(None, TOKEN, timestamp, nonce)
    with pytest.raises(InvalidSignatureException):
        wechatpy_check_signature(TOKEN, signature, timestamp, "other")


@pytest.mark.parametrize("length", [0, 1, 11, 12, 27, 28, 31, 32, 100, 3000])
def test_we_decrypt_what_wechatpy_encrypts_at_every_padding_length(length: int) -> None:
    # Lengths chosen so the pad runs from 1 to 32 bytes: the pad above 16 is where naive PKCS7 fails.
    xml = "<xml><Content><![CDATA[" + "投" * length + "]]></Content></xml>"
    encrypted = PrpCrypto(base64.b64decode(AES_KEY + "=")).encrypt(xml, APP_ID)
    assert WeChatCipher(AES_KEY, APP_ID).decrypt(encrypted.decode("ascii")) == xml


@pytest.mark.parametrize("length", [0, 1, 12, 28, 32, 500])
def test_wechatpy_decrypts_what_we_encrypt(length: int) -> None:
    xml = "<xml><Content><![CDATA[" + "a" * length + "]]></Content></xml>"
    encrypted = WeChatCipher(AES_KEY, APP_ID).encrypt(xml)
    decrypted = PrpCrypto(base64.b64decode(AES_KEY + "=")).decrypt(encrypted, APP_ID)
    assert decrypted == xml


def test_encrypted_reply_envelope_decrypts_with_wechatpy() -> None:
    reply = text_reply_xml("oCustomer", "gh_plaint", 1732370000, "您好，请问您的姓名？\n1. 是 ]]> 2. 否")
    timestamp, nonce = str(int(time.time())), "777"
    envelope = encrypted_envelope_xml(WeChatCipher(AES_KEY, APP_ID), TOKEN, reply, timestamp, nonce)
    signature = parse_fields(envelope).require("MsgSignature")
    decrypted = WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(envelope, signature, timestamp, nonce)
    fields = parse_fields(decrypted)
    assert fields.require("Content") == "您好，请问您的姓名？\n1. 是 ]]> 2. 否"
    assert fields.require("ToUserName") == "oCustomer"
    assert fields.require("MsgType") == "text"


def test_message_for_another_app_id_is_refused() -> None:
    encrypted = WeChatCipher(AES_KEY, "wxSomebodyElse").encrypt("<xml/>")
    with pytest.raises(InvalidAppId) as raised:
        WeChatCipher(AES_KEY, APP_ID).decrypt(encrypted)
    assert raised.value.received == "wxSomebodyElse"


def test_truncated_and_garbage_ciphertexts_are_refused_cleanly() -> None:
    cipher = WeChatCipher(AES_KEY, APP_ID)
    encrypted = cipher.encrypt("<xml><MsgType>text</MsgType></xml>")
    raw = base64.b64decode(encrypted)
    candidates = [
        encrypted[:-7],  # not base64 any more
        base64.b64encode(raw[:-16]).decode(),  # whole blocks, but the padding is gone
        base64.b64encode(raw[:-5]).decode(),  # not whole blocks
        "",
        "!!!!",
        base64.b64encode(os.urandom(64)).decode(),
    ]
    for candidate in candidates:
        with pytest.raises((InvalidCiphertext, InvalidAppId)):
            cipher.decrypt(candidate)


def test_aes_key_must_be_43_characters_of_32_bytes() -> None:
    with pytest.raises(InvalidAesKey):
        WeChatCipher(AES_KEY[:-1], APP_ID)
    with pytest.raises(InvalidAesKey):
        WeChatCipher("*" * 43, APP_ID)


def test_parse_fields_reads_a_flat_document() -> None:
    fields = parse_fields(
        b"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><CreateTime>1732370000</CreateTime>"
        b"<Content><![CDATA[\xe6\x89\x8b\xe6\x9c\xba\xe5\x9d\x8f\xe4\xba\x86]]></Content><Empty></Empty></xml>"
    )
    assert fields.require("Content") == "手机坏了"
    assert fields.get("CreateTime") == "1732370000"
    assert fields.get("Empty") is None
    with pytest.raises(MalformedXml):
        fields.require("MsgId")


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<xml><Content>&xxe;</Content></xml>",
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><xml><Content>&lol3;</Content></xml>',
        b"<xml><Content>unterminated",
        b"<notxml><Content>x</Content></notxml>",
        b"",
    ],
)
def test_parse_fields_refuses_dtds_entities_and_malformed_documents(document: bytes) -> None:
    with pytest.raises(MalformedXml):
        parse_fields(document)
