"""Web chat sessions: the server mints them, the browser only carries them.

A session id is 32 random URL-safe characters. The browser holds it in an HttpOnly cookie together with an
HMAC of it, so a value the server did not mint (a guess, an id someone picked) is not a session: it reads
nothing and the request gets a fresh session of its own. The id never appears in a URL or a log line.
The signature needs no database, so every worker accepts the sessions of the others when they share the
secret (the composition root derives it from the evidence-link secret, which they must already share).

Moving a conversation to another device goes through a one-time link: a signed, short-lived token that the
server exchanges once for the session cookie (see `WebChat.resume`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

COOKIE_NAME = "plaint_chat"
# A customer comes back to an unfinished complaint within days; a month covers the status questions after it.
COOKIE_MAX_AGE_SECONDS = 30 * 24 * 3600
# How long a "continue on another device" link may wait before it is opened.
LINK_LIFETIME_SECONDS = 10 * 60
_SESSION_BYTES = 24
_SIGNATURE_CHARS = 32


def _urlsafe(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class LinkToken:
    """What a one-time link carries once its signature checked out."""

    session: str
    nonce: str
    expires: int


class SpentLinks(Protocol):
    """Which one-time links were used, shared by every worker (the database, built by the composition root)."""

    async def spend(self, nonce: str, expires: int) -> bool:
        """True the first time a link's nonce is spent, False ever after (until it would have expired)."""
        ...


class WebSessions:
    """Mints, signs and reads web chat sessions and their one-time links."""

    def __init__(self, secret: bytes, *, secure_cookies: bool) -> None:
        # A key of its own, derived from the shared secret, so a session signature is never a valid
        # signature of anything else signed with that secret (evidence links).
        self._key = hmac.new(secret, b"plaint web chat session v1", hashlib.sha256).digest()
        self._secure = secure_cookies

    def _sign(self, *parts: str) -> str:
        mac = hmac.new(self._key, "\n".join(parts).encode("utf-8"), hashlib.sha256).digest()
        return _urlsafe(mac)[:_SIGNATURE_CHARS]

    @staticmethod
    def mint() -> str:
        return secrets.token_urlsafe(_SESSION_BYTES)

    def cookie_value(self, session: str) -> str:
        return f"{session}.{self._sign('session', session)}"

    def read(self, request: web.Request) -> str | None:
        """The session the request's cookie proves, or None (no cookie, or one the server did not sign)."""
        value = request.cookies.get(COOKIE_NAME, "")
        session, dot, signature = value.partition(".")
        if not dot or len(value) > 128 or not session:
            return None
        if not hmac.compare_digest(signature, self._sign("session", session)):
            return None
        return session

    def attach(self, response: web.StreamResponse, request: web.Request, session: str) -> None:
        response.set_cookie(
            COOKIE_NAME,
            self.cookie_value(session),
            max_age=COOKIE_MAX_AGE_SECONDS,
            path="/chat",
            httponly=True,
            # Secure whenever the customer reached us over HTTPS (directly or per PLAINT_PUBLIC_URL).
            secure=self._secure or request.secure,
            # Lax, not Strict: a customer who follows a link to /chat from an e-mail keeps their session.
            samesite="Lax",
        )

    def _mask(self, nonce: str, data: bytes) -> bytes:
        # A keystream from the nonce (unique per link): the session id travels in the link unreadable.
        stream = hmac.new(self._key, f"link mask\n{nonce}".encode(), hashlib.sha256).digest()
        return bytes(a ^ b for a, b in zip(data, stream, strict=False))

    def link_token(self, session: str, now: float | None = None) -> str:
        """A token for the one-time link: the session masked, a nonce, the expiry, and their signature."""
        expires = str(int((now if now is not None else time.time()) + LINK_LIFETIME_SECONDS))
        nonce = secrets.token_urlsafe(12)
        masked = _urlsafe(self._mask(nonce, base64.urlsafe_b64decode(session + "=" * (-len(session) % 4))))
        return f"{masked}.{nonce}.{expires}.{self._sign('link', masked, nonce, expires)}"

    def read_link(self, token: str, now: float | None = None) -> LinkToken | None:
        """The link's session when the token is one the server signed and it has not expired."""
        parts = token.split(".")
        if len(token) > 256 or len(parts) != 4:
            return None
        masked, nonce, expires, signature = parts
        if not expires.isdigit() or len(expires) > 12:
            return None
        if not hmac.compare_digest(signature, self._sign("link", masked, nonce, expires)):
            return None
        if int(expires) < (now if now is not None else time.time()):
            return None
        session = _urlsafe(self._mask(nonce, base64.urlsafe_b64decode(masked + "=" * (-len(masked) % 4))))
        return LinkToken(session, nonce, int(expires))
