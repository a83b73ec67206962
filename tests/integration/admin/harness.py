"""What the admin tests share: Plaint's real server, one API token and one console user per role."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from aiohttp.test_utils import TestClient, TestServer

from bot.admin.passwords import hash_password
from bot.app import build_app
from bot.config import Settings
from storage.accounts import TortoiseAccounts

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

    from bot.analysis import ThreadedAnalyzer

LAPTOP = {"width": 1366, "height": 820}

ROLES = ("admin", "editor", "supervisor", "viewer")
PASSWORD = "correct horse battery staple"


def email_for(role: str) -> str:
    return f"{role}@plaint.example"


@dataclass
class AdminHarness:
    client: TestClient[Any, Any]
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def api(self, method: str, path: str, role: str | None, **kwargs: Any) -> tuple[int, Any]:
        headers = {**(self.auth(role) if role else {}), **kwargs.pop("headers", {})}
        response = await self.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)
        body = await response.json() if response.content_type == "application/json" else await response.text()
        return response.status, body

    async def login(self, role: str, password: str = PASSWORD) -> str:
        """Sign in through the console's form; returns the CSRF token shown on the next page."""
        response = await self.client.post(
            "/admin/login", data={"email": email_for(role), "password": password, "next": "/admin/flows"}
        )
        assert response.status == 200, await response.text()
        return csrf_from(await response.text())


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@cache
def password_hash() -> str:
    """Argon2id is slow on purpose (about a second here): hash the shared test password once per run."""
    return hash_password(PASSWORD)


async def provision(harness: AdminHarness) -> None:
    accounts = TortoiseAccounts()
    for role in ROLES:
        await accounts.create_user(email_for(role), role, password_hash())
        secret = f"plt_test_{role}_token_0123456789"
        await accounts.create_token(f"{role}-token", role, secret)
        harness.tokens[role] = secret


@asynccontextmanager
async def running_console(settings: Settings, analyzer: ThreadedAnalyzer) -> AsyncIterator[AdminHarness]:
    """The application serving on a local port, with one account per role."""
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(settings, analyzer), host="127.0.0.1"))
    await client.start_server()
    harness = AdminHarness(client)
    await provision(harness)
    try:
        yield harness
    finally:
        await client.close()


async def sign_in(
    browser: Browser, base: str, role: str, viewport: dict[str, int] = LAPTOP, *, landing: str | None = None,
    accept_downloads: bool = False,
) -> Page:
    """A browser page signed in as `role`, on `landing` (any console page when None)."""
    page = await browser.new_page(viewport=viewport, accept_downloads=accept_downloads)  # type: ignore[arg-type]
    await page.goto(f"{base}{landing or '/admin/flows'}")
    await page.fill("input[name=email]", email_for(role))
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}{landing or '/admin/**'}")
    return page
