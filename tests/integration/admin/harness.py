"""What the admin tests share: Plaint's real server, one API token and one console user per role."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from aiohttp.test_utils import TestClient

from bot.admin.passwords import hash_password
from storage.accounts import TortoiseAccounts

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
