"""Web chat sessions are the server's: a stolen or guessed id reads nothing, the cookie is out of reach of
scripts, a conversation moves to another device only through a one-time link, floods get a 429 in the
customer's language, and every answer carries the security headers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.channels.web_sessions import COOKIE_NAME
from bot.config import Settings
from storage.models import ChannelIdentity, InboundReceipt
from tests.e2e.web_chat_driver import Say, WebCustomer

# Pages and an HTTP contract, not storage: one database is enough.
pytestmark = pytest.mark.one_database("sqlite")


async def test_a_stolen_or_guessed_session_id_reads_nothing_and_writes_nothing(
    web_client: TestClient[Any, Any],
) -> None:
    customer = WebCustomer(web_client, locale="en")
    await customer.post(Say("Hello"))
    await customer.post(Say("Ada Lovelace"))
    assert len(await customer.transcript()) >= 4
    session = customer.session
    assert len(session) >= 32

    forged_cookies = [
        session,  # the bare id, as it would appear if it ever leaked
        f"{session}.{'A' * 32}",  # with a made-up signature
        "aaaaaaaa",  # a short guess
        f"{session}.{customer.cookie.split('.', 1)[1][:-1]}" if customer.cookie else "",  # a truncated one
    ]
    for forged in forged_cookies:
        thief = WebCustomer(web_client, locale="en", cookie=forged)
        assert await thief.transcript() == []
        await thief.post(Say("Mallory"))
        # The server issued the thief a session of their own: nothing reached the customer's conversation.
        assert thief.cookie != forged and thief.session != session
    assert [entry["text"] for entry in await customer.transcript()].count("Mallory") == 0
    assert await ChannelIdentity.filter(channel="web").count() == 1 + len(forged_cookies)


async def test_a_message_id_of_another_browser_is_not_a_duplicate(web_client: TestClient[Any, Any]) -> None:
    first = WebCustomer(web_client, locale="en")
    other = WebCustomer(web_client, locale="en")
    await first.post(Say("Hello"), message_id="same-id")
    result = await other.post(Say("Hello"), message_id="same-id")
    # Another browser's id only names that browser's message: this one is handled, with its own replies.
    assert result["duplicate"] is False
    assert await InboundReceipt.filter(channel="web").count() == 2


async def test_the_session_cookie_is_http_only_and_never_in_a_url(web_client: TestClient[Any, Any]) -> None:
    response = await web_client.get("/chat")
    morsel = response.cookies[COOKIE_NAME]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/chat"
    assert not morsel["secure"]  # served over plain HTTP here; see the HTTPS case below
    page = await response.text()
    assert "session" not in page
    assert morsel.value.split(".")[0] not in page


async def test_the_cookie_is_secure_when_served_over_https(settings: Settings, analyzer: Any) -> None:
    configured = settings.model_copy(update={"public_url": "https://complaints.example.com"})
    async with TestClient(TestServer(build_app(configured, analyzer), host="127.0.0.1")) as client:
        response = await client.get("/chat")
        assert response.cookies[COOKIE_NAME]["secure"] is True


async def test_every_answer_carries_the_security_headers(web_client: TestClient[Any, Any]) -> None:
    page = await web_client.get("/chat")
    policy = page.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce is not None
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    html = await page.text()
    # Every inline script and style carries this answer's nonce; nothing else may run.
    assert html.count("<script") == html.count(f'<script nonce="{nonce.group(1)}"') > 0
    assert html.count("<style") == html.count(f'<style nonce="{nonce.group(1)}"') > 0
    assert nonce.group(1) not in (await (await web_client.get("/chat")).text())
    for path in ("/chat", "/chat/api/messages", "/healthz", "/nowhere"):
        response = await web_client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] in ("no-referrer", "same-origin"), path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path


async def test_another_device_continues_only_through_a_one_time_link(web_client: TestClient[Any, Any]) -> None:
    customer = WebCustomer(web_client, locale="en")
    await customer.post(Say("Hello"))
    await customer.post(Say("Ada Lovelace"))
    response = await web_client.post("/chat/api/link", headers=customer.cookies())
    assert response.status == 200
    link = (await response.json())["url"]
    path = link.removeprefix(str(web_client.make_url("")).rstrip("/"))
    assert path.startswith("/chat/resume?token=") and customer.session not in link

    opened = await web_client.get(path, allow_redirects=False)
    assert opened.status == 303 and opened.headers["Location"] == "/chat"
    phone = WebCustomer(web_client, locale="en", cookie=opened.cookies[COOKIE_NAME].value)
    assert phone.session == customer.session
    assert await phone.transcript() == await customer.transcript()

    # Once only: the same link again, a forged one and a link asked for without a session get nothing.
    again = await web_client.get(path, allow_redirects=False)
    assert again.status == 410 and COOKIE_NAME not in again.cookies
    assert "already been used" in await again.text()
    forged = await web_client.get(path[:-3] + "abc", allow_redirects=False, headers={"Accept-Language": "zh-CN"})
    assert forged.status == 410 and "链接" in await forged.text()
    assert (await web_client.post("/chat/api/link")).status == 401


async def test_a_cross_site_post_is_refused(web_client: TestClient[Any, Any]) -> None:
    customer = WebCustomer(web_client, locale="en")
    await customer.post(Say("Hello"))
    response = await web_client.post(
        "/chat/api/message",
        json={"text": "Mallory"},
        headers={**customer.cookies(), "Origin": "https://attacker.example"},
    )
    assert response.status == 403
    assert "Mallory" not in [entry["text"] for entry in await customer.transcript()]


async def test_a_flood_gets_a_friendly_429_in_the_customers_language(settings: Settings, analyzer: Any) -> None:
    app = build_app(settings, analyzer)
    async with TestClient(TestServer(app, host="127.0.0.1"), cookie_jar=DummyCookieJar()) as client:
        page = await client.get("/chat")
        cookie = {"Cookie": f"{COOKIE_NAME}={page.cookies[COOKIE_NAME].value}"}
        statuses: list[int] = []
        # Malformed bodies: the allowance is spent before the body is even read, so these cost nothing.
        for _ in range(60):
            response = await client.post(
                "/chat/api/message", json={"text": 1}, headers={**cookie, "Accept-Language": "zh-CN,zh;q=0.9"}
            )
            statuses.append(response.status)
        assert statuses[:40] == [400] * 40
        assert statuses[-1] == 429
        assert "太频繁" in await response.text() and int(response.headers["Retry-After"]) >= 1

        # New sessions from one address (behind the reverse proxy on this machine, which names the customer in
        # X-Forwarded-For): after the allowance, an English 429 instead of yet another session.
        def behind_proxy(address: str) -> dict[str, str]:
            return {"Accept-Language": "en", "X-Forwarded-For": f"10.0.0.9, {address}"}

        minted: list[int] = []
        for _ in range(40):
            response = await client.post("/chat/api/message", json={"text": 1}, headers=behind_proxy("203.0.113.7"))
            minted.append(response.status)
        assert minted[:30] == [400] * 30 and minted[-1] == 429
        assert "too quickly" in await response.text()
        # Another customer's address has its own allowance; a local tool without the header is not limited.
        other = await client.post("/chat/api/message", json={"text": 1}, headers=behind_proxy("198.51.100.2"))
        assert other.status == 400
        local = await client.post("/chat/api/message", json={"text": 1})
        assert local.status == 400
