"""The WeChat API client against the fake API: stable token shared through the database, refreshed before
expiry and once on an invalid-token answer; media streamed; errors typed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.channels.wechat_api import WeChatApiClient, WeChatApiError
from storage.database import open_database
from storage.tokens import StoredToken, TortoiseSharedTokenStore
from tests.fakes.wechat_api import FakeWeChatApi

APP_ID = "wx1234567890abcdef"
SECRET = "s3cret"


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[None]:
    async with open_database(database_url):
        yield


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeWeChatApi]:
    fake = FakeWeChatApi(app_id=APP_ID, app_secret=SECRET)
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def make_client(session: aiohttp.ClientSession, fake: FakeWeChatApi) -> WeChatApiClient:
    return WeChatApiClient(session, fake.base_url, APP_ID, SECRET, TortoiseSharedTokenStore())


async def test_token_is_fetched_once_and_shared_by_workers_through_the_database(
    database: None, fake_api: FakeWeChatApi, session: aiohttp.ClientSession
) -> None:
    first_worker, second_worker = make_client(session, fake_api), make_client(session, fake_api)
    await first_worker.send_text("oCustomer", "您好")
    await second_worker.send_text("oCustomer", "第二条")
    token_calls = fake_api.calls_to("/cgi-bin/stable_token")
    assert len(token_calls) == 1
    assert token_calls[0].body == {
        "grant_type": "client_credential",
        "appid": APP_ID,
        "secret": SECRET,
        "force_refresh": False,
    }
    assert fake_api.sent_texts == [("oCustomer", "您好"), ("oCustomer", "第二条")]
    sent = fake_api.calls_to("/cgi-bin/message/custom/send")
    assert all(call.body is not None and call.body["raw_utf8"] for call in sent)
    stored = await TortoiseSharedTokenStore().load(f"wechat:{APP_ID}")
    assert stored is not None and stored.value == "TOKEN-1"


async def test_token_is_refreshed_before_it_expires(
    database: None, fake_api: FakeWeChatApi, session: aiohttp.ClientSession
) -> None:
    store = TortoiseSharedTokenStore()
    soon = datetime.now(UTC) + timedelta(minutes=2)
    await store.save(f"wechat:{APP_ID}", StoredToken("TOKEN-1", soon))
    fake_api.rotate_token()
    await make_client(session, fake_api).send_text("oCustomer", "hi")
    assert len(fake_api.calls_to("/cgi-bin/stable_token")) == 1
    assert [call.query["access_token"] for call in fake_api.calls_to("/cgi-bin/message/custom/send")] == ["TOKEN-2"]
    stored = await store.load(f"wechat:{APP_ID}")
    assert stored is not None and stored.value == "TOKEN-2" and stored.expires_at > soon


async def test_rotated_token_is_refreshed_once_on_40001_without_forcing(
    database: None, fake_api: FakeWeChatApi, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, fake_api)
    await client.send_text("oCustomer", "one")
    fake_api.rotate_token()
    await client.send_text("oCustomer", "two")
    # The stale token is refused once, the stable token (not forced) is the rotated one, the retry passes.
    tokens_used = [call.query["access_token"] for call in fake_api.calls_to("/cgi-bin/message/custom/send")]
    assert tokens_used == ["TOKEN-1", "TOKEN-1", "TOKEN-2"]
    assert fake_api.sent_texts == [("oCustomer", "one"), ("oCustomer", "two")]
    forced = [call.body["force_refresh"] for call in fake_api.calls_to("/cgi-bin/stable_token") if call.body]
    assert forced == [False, False]


async def test_40001_with_the_current_token_forces_a_new_one_and_retries_once(
    database: None, fake_api: FakeWeChatApi, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, fake_api)
    fake_api.send_failures = [40001]
    await client.send_text("oCustomer", "retry me")
    tokens_used = [call.query["access_token"] for call in fake_api.calls_to("/cgi-bin/message/custom/send")]
    assert tokens_used == ["TOKEN-1", "TOKEN-2"]
    assert [call.body["force_refresh"] for call in fake_api.calls_to("/cgi-bin/stable_token") if call.body] == [
        False,
        False,
        True,
    ]
    assert fake_api.sent_texts == [("oCustomer", "retry me")]


async def test_a_second_invalid_token_answer_is_not_retried_forever(
    database: None, fake_api: FakeWeChatApi, session: aiohttp.ClientSession
) -> None:
    fake_api.send_failures = [40001, 40001, 40001]
    with pytest.raises(WeChatApiError) as raised:
        await make_client(session, fake_api).send_text("oCustomer", "x")
    assert raised.value.errcode == 40001
    assert len(fake_api.calls_to("/cgi-bin/message/custom/send")) == 2


async def test_media_is_streamed_and_videos_follow_their_url(
    database: None, fake_api: FakeWeChatApi, session: aiohttp.ClientSession
) -> None:
    photo = bytes(range(256)) * 1000
    fake_api.media["PHOTO1"] = photo
    fake_api.videos["VIDEO1"] = b"\x00\x00\x00\x18ftypmp42" + b"v" * 5000
    client = make_client(session, fake_api)
    assert b"".join([chunk async for chunk in client.stream_media("PHOTO1")]) == photo
    assert b"".join([chunk async for chunk in client.stream_media("VIDEO1")]) == fake_api.videos["VIDEO1"]
    fake_api.media_failures = [42001]
    assert b"".join([chunk async for chunk in client.stream_media("PHOTO1")]) == photo
    with pytest.raises(WeChatApiError) as raised:
        _ = [chunk async for chunk in client.stream_media("EXPIRED")]
    assert raised.value.errcode == 40007
