"""Who is calling: a bearer token (the API) or a session cookie (the console, and the API it uses).

Sessions are rows keyed by the SHA-256 of a random token kept in an HttpOnly, SameSite=Strict cookie, so
every worker knows them and logout ends them. Each session has a CSRF token that every form and every
unsafe API call made with the cookie must echo (no library of ours does CSRF). Failed logins are rows too,
so the rate limit holds across workers."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web

from bot.admin.audit import Actor, Via
from bot.admin.errors import AdminError
from bot.admin.passwords import verify_password
from bot.admin.roles import Role, parse_role
from storage.accounts import TortoiseAccounts

SESSION_COOKIE = "plaint_admin"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_LIFETIME = timedelta(hours=12)
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 30


class LoginRefused(AdminError):
    """Wrong email or password (never says which)."""


class LoginThrottled(AdminError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} seconds")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Principal:
    actor: Actor
    role: Role
    csrf_token: str | None  # set for cookie sessions: unsafe requests must echo it

    @property
    def by_session(self) -> bool:
        return self.csrf_token is not None


@dataclass(frozen=True)
class NewSession:
    secret: str
    csrf_token: str
    expires_at: datetime


def source_ip(request: web.Request) -> str | None:
    return request.remote


def _now() -> datetime:
    return datetime.now(UTC)


class Authenticator:
    def __init__(self, accounts: TortoiseAccounts, secure_cookies: bool) -> None:
        self._accounts = accounts
        self._secure = secure_cookies

    async def principal(self, request: web.Request, via: Via) -> Principal | None:
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, secret = header.partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                return None
            token = await self._accounts.token_for_secret(secret.strip())
            if token is None:
                return None
            return Principal(Actor(f"token:{token.name}", token.role, "api", source_ip(request)),
                             parse_role(token.role), None)
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        session = await self._accounts.session_for_secret(cookie, _now())
        if session is None:
            return None
        user = session.user
        return Principal(Actor(user.email, user.role, via, source_ip(request)), parse_role(user.role),
                         session.csrf_token)

    @staticmethod
    def csrf_valid(principal: Principal, offered: str | None) -> bool:
        if principal.csrf_token is None:
            return True  # bearer tokens are not sent by browsers on their own: nothing to forge
        return offered is not None and hmac.compare_digest(principal.csrf_token, offered)

    async def login(self, email: str, password: str, address: str | None) -> NewSession:
        email = email.strip().lower()
        keys = (f"account:{email}", f"address:{address or '-'}")
        since = _now() - FAILURE_WINDOW
        if (
            await self._accounts.failed_logins_since(keys[0], since) >= MAX_FAILURES_PER_ACCOUNT
            or await self._accounts.failed_logins_since(keys[1], since) >= MAX_FAILURES_PER_ADDRESS
        ):
            raise LoginThrottled(int(FAILURE_WINDOW.total_seconds()))
        user = await self._accounts.user_by_email(email)
        valid = await verify_password(user.password_hash if user else None, password)
        if user is None or not valid or not user.active:
            await self._accounts.record_failed_login(keys)
            raise LoginRefused("wrong email or password")
        await self._accounts.clear_failed_logins(keys[0])
        session = NewSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32), _now() + SESSION_LIFETIME)
        await self._accounts.delete_expired_sessions(_now())
        await self._accounts.create_session(user.id, session.secret, session.csrf_token, session.expires_at)
        return session

    def set_cookie(self, response: web.StreamResponse, session: NewSession) -> None:
        response.set_cookie(
            SESSION_COOKIE, session.secret, max_age=int(SESSION_LIFETIME.total_seconds()), path="/",
            httponly=True, samesite="Strict", secure=self._secure,
        )

    async def logout(self, request: web.Request, response: web.StreamResponse) -> None:
        secret = request.cookies.get(SESSION_COOKIE)
        if secret:
            await self._accounts.delete_session(secret)
        response.del_cookie(SESSION_COOKIE, path="/")
