"""The WeChat channel end to end: wechatpy plays WeChat pushing to Plaint's /wechat, the fake WeChat API
serves tokens and media and records custom/send; the stored case is read back from the database."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from wechatpy.crypto import WeChatCrypto

from bot.analysis import ThreadedAnalyzer
from bot.app import APPLICATION_KEY, build_app
from bot.config import Settings
from storage.evidence import LocalEvidenceStore
from storage.models import (
    Case,
    ChannelIdentity,
    Customer,
    Evidence,
    InboundReceipt,
    OutboxItem,
    TranscriptMessage,
)
from storage.outbox import OutboxStatus
from tests.fakes.wechat_api import FakeWeChatApi
from tests.integration.wechat.wechat_platform import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    TOKEN,
    Answer,
    Mode,
    WeChatCustomer,
    WeChatPlatform,
    message_xml,
    sign,
)
from tests.waiting import WITHIN, eventually

# The passive-reply budget Plaint is given (WeChat itself waits 5 s): generous, so that a loaded machine still
# answers passively where a test expects it.
DEADLINE = 4.0
PHOTO_A = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40 + b"\xff\xd9"
PHOTO_B = b"\x89PNG\r\n\x1a\n" + hashlib.sha256(b"b").digest() * 500


@dataclass
class WeChatServer:
    fake: FakeWeChatApi
    client: TestClient[web.Request, web.Application]
    platform: WeChatPlatform
    settings: Settings

    def customer(self, open_id: str = "oCustomer_zhang") -> WeChatCustomer:
        return WeChatCustomer(self.platform, open_id)

    async def outbox_drained(self, within: float = WITHIN) -> None:
        outbox = self.client.app[APPLICATION_KEY].outbox
        await eventually(outbox.pending_count, "the outbox to empty", accept=lambda count: count == 0, within=within)


async def start_server(settings: Settings, analyzer: ThreadedAnalyzer, mode: Mode) -> AsyncIterator[WeChatServer]:
    fake = FakeWeChatApi(app_id=APP_ID, app_secret=APP_SECRET)
    await fake.start()
    configured = settings.model_copy(
        update={
            "wechat_token": SecretStr(TOKEN),
            "wechat_aes_key": None if mode == "plain" else SecretStr(AES_KEY),
            "wechat_app_id": APP_ID,
            "wechat_app_secret": SecretStr(APP_SECRET),
            "wechat_api_url": fake.base_url,
            "wechat_reply_deadline": DEADLINE,
        }
    )
    client: TestClient[web.Request, web.Application] = TestClient(
        TestServer(build_app(configured, analyzer), host="127.0.0.1")
    )
    await client.start_server()
    try:
        platform = WeChatPlatform(client.session, str(client.make_url("/wechat")), mode)
        yield WeChatServer(fake, client, platform, configured)
    finally:
        await client.close()
        await fake.close()


@pytest_asyncio.fixture
async def wechat(settings: Settings, analyzer: ThreadedAnalyzer) -> AsyncIterator[WeChatServer]:
    async for server in start_server(settings, analyzer, "aes"):
        yield server


@pytest_asyncio.fixture
async def wechat_plain(settings: Settings, analyzer: ThreadedAnalyzer) -> AsyncIterator[WeChatServer]:
    async for server in start_server(settings, analyzer, "plain"):
        yield server


async def nothing_stored() -> bool:
    return (
        await InboundReceipt.all().count() == 0
        and await TranscriptMessage.all().count() == 0
        and await OutboxItem.all().count() == 0
        and await ChannelIdentity.all().count() == 0
    )


async def say(customer: WeChatCustomer, inner_xml: str) -> str:
    answer = await customer.send(inner_xml)
    assert answer.status == 200, answer.body
    assert answer.text is not None, f"expected a passive reply, got {answer.body!r}"
    return answer.text


async def walk_to_evidence(customer: WeChatCustomer) -> str:
    """Subscribe and answer every question before the evidence step, in Chinese; returns the last reply."""
    reply = await say(customer, customer.event("subscribe"))
    assert "首先，请问怎么称呼你？" in reply
    reply = await say(customer, customer.text("张伟"))
    # No buttons on WeChat: the choices arrive as numbered options and the number is an answer.
    assert "1. 电话" in reply and "2. 邮箱" in reply
    reply = await say(customer, customer.text("1"))
    reply = await say(customer, customer.text("13812345678"))
    reply = await say(customer, customer.text("我上周买的华为手机屏幕用了两天就裂了，售后说不给换"))
    reply = await say(customer, customer.text("昨天下午三点"))
    reply = await say(customer, customer.location(31.2304, 121.4737, "上海市静安区南京西路"))
    reply = await answer_proposals(customer, reply)
    assert "最多 5 个" in reply, reply
    return reply


async def answer_proposals(customer: WeChatCustomer, reply: str) -> str:
    """The product and category steps depend on what the NLP proposes: confirm a proposal, else answer."""
    for _ in range(4):
        if "是关于" in reply or "对吗" in reply:
            reply = await say(customer, customer.text("是"))
        elif "哪个产品" in reply:
            reply = await say(customer, customer.text("华为手机"))
        elif "哪一类问题" in reply:
            reply = await say(customer, customer.text("1"))
        else:
            return reply
    return reply


async def the_case() -> Case:
    cases = await Case.all()
    assert len(cases) == 1
    return cases[0]


# ---- the whole complaint -------------------------------------------------------------------------------


async def test_chinese_complaint_with_two_photos_in_safe_mode_by_passive_replies(wechat: WeChatServer) -> None:
    wechat.fake.media |= {"MEDIA_A": PHOTO_A, "MEDIA_B": PHOTO_B}
    customer = wechat.customer()
    await walk_to_evidence(customer)
    await say(customer, customer.image("MEDIA_A"))
    await say(customer, customer.image("MEDIA_B"))
    reply = await say(customer, customer.text("完成"))
    assert "你希望我们怎么处理" in reply and "2. 换货" in reply
    reply = await say(customer, customer.text("2"))
    assert "姓名：张伟" in reply and "证据：2 个文件" in reply
    reply = await say(customer, customer.text("确认"))
    case = await the_case()
    assert f"编号是 {case.number}" in reply

    assert (case.channel, case.sender_id, case.lang) == ("wechat", "oCustomer_zhang", "zh")
    assert case.name == "张伟" and case.phone == "+8613812345678"
    assert case.description == "我上周买的华为手机屏幕用了两天就裂了，售后说不给换"
    assert case.occurred_where == "上海市静安区南京西路"
    assert case.expected_resolution in ("replacement", "换货")
    evidence = await Evidence.filter(case_id=case.id).order_by("id")
    assert [item.sha256 for item in evidence] == [
        hashlib.sha256(PHOTO_A).hexdigest(),
        hashlib.sha256(PHOTO_B).hexdigest(),
    ]
    assert [item.size for item in evidence] == [len(PHOTO_A), len(PHOTO_B)]
    assert [item.media_type for item in evidence] == ["image/jpeg", "image/png"]
    store = LocalEvidenceStore(wechat.settings.evidence_dir)
    # Stored encrypted; read back through the store it is the photo the customer sent.
    assert b"".join([chunk async for chunk in store.read(evidence[0].storage_key)]) == PHOTO_A
    # Downloaded through media/get with the stable token, at once.
    media_calls = wechat.fake.calls_to("/cgi-bin/media/get")
    assert [call.query["media_id"] for call in media_calls] == ["MEDIA_A", "MEDIA_B"]
    assert {call.query["access_token"] for call in media_calls} == {"TOKEN-1"}
    # Every reply left in a passive answer: nothing through custom/send, nothing left in the outbox.
    assert wechat.fake.calls_to("/cgi-bin/message/custom/send") == []
    replies = await OutboxItem.filter(kind="message")
    assert replies and {item.status for item in replies} == {OutboxStatus.SENT_PASSIVELY}


async def test_plaintext_mode_replies_in_plain_xml_and_voice_recognition_is_text(
    wechat_plain: WeChatServer,
) -> None:
    customer = wechat_plain.customer("oPlain")
    reply = await say(customer, customer.voice("VOICE_1", recognition="你好，我要投诉"))
    assert "首先，请问怎么称呼你？" in reply
    transcript = await TranscriptMessage.filter(direction="in").first()
    assert transcript is not None and transcript.text == "你好，我要投诉"
    assert wechat_plain.fake.calls_to("/cgi-bin/media/get") == []


async def test_compatible_mode_uses_the_signed_ciphertext_and_answers_encrypted(wechat: WeChatServer) -> None:
    wechat.platform.mode = "compatible"
    customer = wechat.customer("oCompat")
    # The plaintext beside Encrypt is not signed: a tampered plaintext copy changes nothing.
    inner = customer.text("你好，我要投诉")
    wechat.platform.plaintext_copy = inner.replace("你好，我要投诉", "I withdraw everything")
    reply = await say(customer, inner)
    assert "首先，请问怎么称呼你？" in reply
    transcript = await TranscriptMessage.filter(direction="in").first()
    assert transcript is not None and transcript.text == "你好，我要投诉"


async def test_menu_clicks_start_a_complaint_or_show_the_status_and_unsubscribe_is_quiet(
    wechat: WeChatServer,
) -> None:
    customer = wechat.customer("oMenu")
    assert "你目前没有处理中的投诉" in await say(customer, customer.event("CLICK", "STATUS"))
    assert "首先，请问怎么称呼你？" in await say(customer, customer.event("CLICK", "COMPLAINT"))
    answer = await customer.send(customer.event("unsubscribe"))
    assert (answer.status, answer.body) == (200, "success")
    answer = await customer.send(customer.event("VIEW", "https://example.com/menu"))
    assert (answer.status, answer.body) == (200, "success")


async def test_a_photo_over_the_limit_is_refused_while_streaming_and_not_stored(wechat: WeChatServer) -> None:
    huge = b"\xff\xd8\xff\xe0" + b"\x00" * (20 * 1024 * 1024)
    wechat.fake.media["HUGE"] = huge
    customer = wechat.customer("oHuge")
    await walk_to_evidence(customer)
    reply = await say(customer, customer.image("HUGE"))
    assert "wechat-photo-" in reply and "20" in reply
    assert await Evidence.all().count() == 0
    assert list(LocalEvidenceStore(wechat.settings.evidence_dir).root.rglob("*.*")) == []


# ---- the 5-second rule ---------------------------------------------------------------------------------


async def test_slow_media_answers_success_in_time_and_replies_by_custom_send(wechat: WeChatServer) -> None:
    wechat.fake.media["SLOW"] = PHOTO_A
    customer = wechat.customer("oSlow")
    await walk_to_evidence(customer)
    wechat.fake.media_delay = DEADLINE + 0.8
    wechat.fake.send_failures = [-1]  # "system busy" once: the outbox tries again
    answer = await customer.send(customer.image("SLOW"))
    assert (answer.status, answer.body) == (200, "success")
    assert answer.seconds < DEADLINE + 2.0  # "success" at the deadline, not after the slow download
    sent = await eventually(lambda: wechat.fake.sent_texts, "a message sent")
    assert isinstance(sent, list) and len(sent) == 1
    open_id, text = sent[0]
    assert open_id == "oSlow" and ("1" in text or "完成" in text)
    assert len(wechat.fake.calls_to("/cgi-bin/message/custom/send")) == 2
    evidence = await Evidence.all()
    assert [item.sha256 for item in evidence] == [hashlib.sha256(PHOTO_A).hexdigest()]
    await wechat.outbox_drained()
    # The customer goes on; quick answers are passive again.
    wechat.fake.media_delay = 0
    reply = await say(customer, customer.text("完成"))
    assert "你希望我们怎么处理" in reply
    assert len(wechat.fake.sent_texts) == 1


async def test_customer_outside_the_48_hour_window_is_marked_unreachable(wechat: WeChatServer) -> None:
    wechat.fake.media["SLOW"] = PHOTO_A
    customer = wechat.customer("oGone")
    await walk_to_evidence(customer)
    wechat.fake.media_delay = DEADLINE + 0.5
    wechat.fake.send_failures = [45015]
    answer = await customer.send(customer.image("SLOW"))
    assert answer.body == "success"
    await eventually(OutboxItem.filter(status="dead").count, "one dead item", accept=lambda count: count == 1)
    dead = await OutboxItem.get(status="dead")
    assert "45015" in (dead.last_error or "")
    customer_row = await Customer.get(identities__sender_id="oGone")
    assert customer_row.unreachable
    assert wechat.fake.sent_texts == []


async def test_expired_token_is_refreshed_once_on_40001(wechat: WeChatServer) -> None:
    wechat.fake.media["PHOTO"] = PHOTO_B
    customer = wechat.customer("oToken")
    await walk_to_evidence(customer)
    await say(customer, customer.image("PHOTO"))  # fetches TOKEN-1 and caches it in the database
    wechat.fake.rotate_token()  # TOKEN-2 now; Plaint still holds TOKEN-1
    await say(customer, customer.image("PHOTO"))
    media_calls = wechat.fake.calls_to("/cgi-bin/media/get")
    assert [call.query["access_token"] for call in media_calls] == ["TOKEN-1", "TOKEN-1", "TOKEN-2"]
    assert len(wechat.fake.calls_to("/cgi-bin/stable_token")) == 2
    assert await Evidence.all().count() == 2


# ---- retries -------------------------------------------------------------------------------------------


async def test_the_same_msg_id_three_times_has_one_effect(wechat: WeChatServer) -> None:
    customer = wechat.customer("oRetry")
    # Events have no MsgId: their retries are recognised by sender and CreateTime.
    subscribe = customer.event("subscribe", create_time=1732370000)
    greeting = await say(customer, subscribe)
    assert await say(customer, subscribe) == greeting
    assert await InboundReceipt.filter(message_id="event:oRetry:1732370000").count() == 1
    msg_id = wechat.platform.next_msg_id()
    push = customer.text("张伟", msg_id=msg_id)
    first = await say(customer, push)
    # WeChat retries only when our answer did not reach it: the retry must carry the same answer.
    assert await say(customer, push) == first
    assert await say(customer, push) == first
    assert await InboundReceipt.filter(message_id=str(msg_id)).count() == 1
    assert [row.text for row in await TranscriptMessage.filter(direction="in")].count("张伟") == 1
    # The conversation moved one step: the next answer is the contact method.
    reply = await say(customer, customer.text("1"))
    assert "手机号码" in reply
    assert wechat.fake.calls_to("/cgi-bin/message/custom/send") == []


async def test_a_retry_of_a_slow_message_does_not_send_twice(wechat: WeChatServer) -> None:
    wechat.fake.media["SLOW"] = PHOTO_A
    customer = wechat.customer("oSlowRetry")
    await walk_to_evidence(customer)
    wechat.fake.media_delay = DEADLINE + 0.5
    push = customer.image("SLOW")
    # WeChat retries only when an answer did not reach it: here the first two answers are taken as lost,
    # so what the customer sees is everything sent by custom/send plus the last answer.
    answers = [await customer.send(push) for _ in range(3)]
    assert [answer.status for answer in answers] == [200, 200, 200]
    assert answers[0].body == "success"
    await wechat.outbox_drained()
    await asyncio.sleep(0.3)
    seen = [text for _, text in wechat.fake.sent_texts] + ([answers[-1].text] if answers[-1].text else [])
    assert len(seen) == 1 and "收到" in seen[0], seen
    assert await Evidence.all().count() == 1
    # The retries joined the download already under way instead of starting their own.
    assert len(wechat.fake.calls_to("/cgi-bin/media/get")) == 1


async def test_a_customers_replies_arrive_in_order_whichever_path_each_takes(wechat: WeChatServer) -> None:
    """The race seen under load, made deterministic: the reply to a slow push leaves by custom/send and the API
    is slow to take it; the customer's next push meanwhile must not have its reply overtake the earlier one."""
    wechat.fake.media["SLOW"] = PHOTO_A
    customer = wechat.customer("oOrdered")
    await walk_to_evidence(customer)
    wechat.fake.media_delay = DEADLINE + 0.5
    gate = wechat.fake.send_gate = asyncio.Event()
    answer = await customer.send(customer.image("SLOW"))
    assert answer.body == "success"  # the photo's acknowledgement goes by custom/send...
    await eventually(lambda: wechat.fake.calls_to("/cgi-bin/message/custom/send"), within=30)
    wechat.fake.media_delay = 0
    # ...and is stuck in the API while the next push arrives and its reply is queued.
    next_push = asyncio.create_task(customer.send(customer.text("完成")))
    await eventually(OutboxItem.filter(status="pending").count, "a pending reply", accept=lambda count: count >= 1)
    try:
        await asyncio.sleep(0.3)  # room for a passive answer to (wrongly) leave before the earlier reply
        assert not next_push.done()
    finally:
        gate.set()
    answer = await next_push
    assert answer.status == 200
    if answer.text is not None:
        wechat.fake.delivered.append(("oOrdered", answer.text))
    await wechat.outbox_drained(within=30)
    texts = [text for _, text in wechat.fake.delivered]
    assert len(texts) == 2, texts
    assert "收到" in texts[0] and "你希望我们怎么处理" in texts[1], texts


# ---- refusals ------------------------------------------------------------------------------------------


async def test_server_verification_echoes_echostr_and_refuses_a_wrong_signature(wechat: WeChatServer) -> None:
    query = {"timestamp": "1732370000", "nonce": "9876", "echostr": "echo-7701"}
    good = await wechat.client.get("/wechat", params=query | {"signature": sign(TOKEN, "1732370000", "9876")})
    assert (good.status, await good.text()) == (200, "echo-7701")
    bad = await wechat.client.get("/wechat", params=query | {"signature": sign("other", "1732370000", "9876")})
    assert bad.status == 403
    assert "echo-7701" not in await bad.text()


async def test_forged_signatures_are_refused_and_nothing_stored(wechat: WeChatServer) -> None:
    customer = wechat.customer("oForged")
    forger = WeChatPlatform(
        wechat.platform.session, wechat.platform.url, crypto=WeChatCrypto("not-the-token", AES_KEY, APP_ID)
    )
    answer = await forger.post(customer.text("我要投诉"))
    assert answer.status == 403  # the signature over token/timestamp/nonce is already wrong
    timestamp, nonce = str(int(time.time())), "555"
    envelope = wechat.platform.crypto.encrypt_message(customer.text("我要投诉"), nonce, timestamp)
    encrypted = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    body = f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
    query = {"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, "encrypt_type": "aes"}
    for msg_signature in (sign(TOKEN, timestamp, nonce, encrypted + "x"), "", "0" * 40):
        answer = await wechat.platform.post_raw(body, query | {"msg_signature": msg_signature})
        assert answer.status == 403, msg_signature
    # With safe mode configured, an unencrypted push is refused too (its signature does not cover the body).
    answer = await wechat.platform.post_raw(customer.text("我要投诉").encode(), query | {"encrypt_type": "raw"})
    assert answer.status == 403
    # Nothing WeChat sends is this big: refused before parsing.
    answer = await wechat.platform.post_raw(b"<xml>" + b" " * 70_000 + b"</xml>", query)
    assert answer.status == 413
    assert await nothing_stored()


@pytest.mark.parametrize(
    "dtd",
    [
        '<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE xml [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
        '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>',
    ],
)
async def test_entities_are_refused_before_expansion_outside_and_inside_the_ciphertext(
    wechat: WeChatServer, dtd: str
) -> None:
    customer = wechat.customer("oEvil")
    reference = "&xxe;" if "xxe" in dtd else "&lol4;"
    inner = dtd + message_xml(ToUserName="gh", FromUserName="oEvil", CreateTime=1, MsgType="text", MsgId=42).replace(
        "<MsgType>", f"<Content>{reference}</Content><MsgType>"
    )
    # Inside: encrypted and signed correctly by wechatpy, so only the XML parser can refuse it.
    answer = await customer.send(inner)
    assert answer.status == 400 and "lol" not in answer.body and "root:" not in answer.body
    # Outside: the envelope itself carries the DTD.
    timestamp, nonce = str(int(time.time())), "31337"
    outer = f"{dtd}<xml><ToUserName>gh</ToUserName><Encrypt>{reference}</Encrypt></xml>".encode()
    query = {
        "signature": sign(TOKEN, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": sign(TOKEN, timestamp, nonce, ""),
    }
    answer = await wechat.platform.post_raw(outer, query)
    assert answer.status == 400 and "lol" not in answer.body
    assert await nothing_stored()


async def test_truncated_ciphertext_and_wrong_app_id_are_refused_cleanly(wechat: WeChatServer) -> None:
    customer = wechat.customer("oBroken")
    timestamp, nonce = str(int(time.time())), "8080"

    async def post_encrypted(encrypted: str) -> Answer:
        body = f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
        query = {
            "signature": sign(TOKEN, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "encrypt_type": "aes",
            "msg_signature": sign(TOKEN, timestamp, nonce, encrypted),
        }
        return await wechat.platform.post_raw(body, query)

    envelope = wechat.platform.crypto.encrypt_message(customer.text("我要投诉"), nonce, timestamp)
    encrypted = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    for truncated in (encrypted[:-24], encrypted[: len(encrypted) // 2], encrypted[:-1], "AAAA"):
        answer = await post_encrypted(truncated)
        assert answer.status == 400, truncated
    other_app = WeChatCrypto(TOKEN, AES_KEY, "wxAnotherAccount00").encrypt_message(
        customer.text("我要投诉"), nonce, timestamp
    )
    answer = await post_encrypted(other_app.split("<Encrypt><![CDATA[")[1].split("]]>")[0])
    assert answer.status == 403
    assert await nothing_stored()


async def test_channel_is_off_without_credentials(settings: Settings, analyzer: ThreadedAnalyzer) -> None:
    client: TestClient[web.Request, web.Application] = TestClient(
        TestServer(build_app(settings, analyzer), host="127.0.0.1")
    )
    await client.start_server()
    try:
        response = await client.post("/wechat", data=b"<xml/>")
        assert response.status in (404, 405)
        assert "wechat" not in client.app[APPLICATION_KEY].channels
    finally:
        await client.close()


async def test_a_push_signed_more_than_five_minutes_away_is_refused_as_a_replay(wechat_plain: WeChatServer) -> None:
    customer = wechat_plain.customer("oReplayed_customer_00000000")
    # The clock is read before each push and the skews keep a margin from 300 s: on a loaded machine a push
    # signed at "now + 301" with a "now" read seconds earlier lands inside the window.
    for skew in (-2 * 24 * 3600, -330, 330):
        timestamp = str(int(time.time()) + skew)
        answer = await wechat_plain.platform.post(customer.text("我要投诉"), timestamp=timestamp)
        assert answer.status == 403 and "5 minutes" in answer.body, skew
    assert await nothing_stored()
    # Within the window (a slow network, a clock a little off) it is answered as usual.
    answer = await wechat_plain.platform.post(customer.text("我要投诉"), timestamp=str(int(time.time()) - 240))
    assert answer.status == 200 and answer.text
