"""Admin console accounts, API tokens, login sessions and failed-login records. Only hashes of secrets are
stored: password hashes come from the caller (the KDF lives in bot.admin), token hashes are SHA-256 of
high-entropy random tokens (a KDF adds nothing there and would slow every API call)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError

from storage.errors import StorageError
from storage.models import AdminSession, AdminUser, ApiToken, LoginAttempt


class AccountExists(StorageError):
    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"a {kind} named {name!r} already exists")
        self.kind = kind
        self.name = name


class AccountNotFound(StorageError):
    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"no {kind} named {name!r}")
        self.kind = kind
        self.name = name


@dataclass(frozen=True)
class AccountUser:
    id: int
    email: str
    role: str
    password_hash: str
    active: bool


@dataclass(frozen=True)
class TokenInfo:
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class SessionInfo:
    user: AccountUser
    csrf_token: str
    expires_at: datetime


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _user(row: AdminUser) -> AccountUser:
    return AccountUser(row.id, row.email, row.role, row.password_hash, row.active)


class TortoiseAccounts:
    # --- users ---------------------------------------------------------------------------------------------

    async def create_user(self, email: str, role: str, password_hash: str) -> AccountUser:
        try:
            row = await AdminUser.create(email=email, role=role, password_hash=password_hash)
        except IntegrityError as error:
            raise AccountExists("user", email) from error
        return _user(row)

    async def user_by_email(self, email: str) -> AccountUser | None:
        row = await AdminUser.get_or_none(email=email)
        return _user(row) if row is not None else None

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        await AdminUser.filter(id=user_id).update(password_hash=password_hash)

    async def count_users(self) -> int:
        return await AdminUser.all().count()

    # --- API tokens ----------------------------------------------------------------------------------------

    async def create_token(self, name: str, role: str, secret: str) -> TokenInfo:
        try:
            row = await ApiToken.create(name=name, role=role, token_hash=secret_digest(secret))
        except IntegrityError as error:
            raise AccountExists("token", name) from error
        return TokenInfo(row.name, row.role, row.created_at, None)

    async def revoke_token(self, name: str, now: datetime) -> TokenInfo:
        row = await ApiToken.get_or_none(name=name)
        if row is None:
            raise AccountNotFound("token", name)
        if row.revoked_at is None:
            row.revoked_at = now
            await row.save(update_fields=["revoked_at"])
        return TokenInfo(row.name, row.role, row.created_at, row.revoked_at)

    async def token_for_secret(self, secret: str) -> TokenInfo | None:
        row = await ApiToken.get_or_none(token_hash=secret_digest(secret), revoked_at__isnull=True)
        return TokenInfo(row.name, row.role, row.created_at, None) if row is not None else None

    # --- sessions ------------------------------------------------------------------------------------------

    async def create_session(self, user_id: int, secret: str, csrf_token: str, expires_at: datetime) -> None:
        await AdminSession.create(
            user_id=user_id, token_hash=secret_digest(secret), csrf_token=csrf_token, expires_at=expires_at
        )

    async def session_for_secret(self, secret: str, now: datetime) -> SessionInfo | None:
        row = await AdminSession.get_or_none(token_hash=secret_digest(secret)).select_related("user")
        if row is None or row.expires_at <= now or not row.user.active:
            return None
        return SessionInfo(_user(row.user), row.csrf_token, row.expires_at)

    async def delete_session(self, secret: str) -> None:
        await AdminSession.filter(token_hash=secret_digest(secret)).delete()

    async def delete_expired_sessions(self, now: datetime) -> int:
        return await AdminSession.filter(expires_at__lte=now).delete()

    # --- failed logins -------------------------------------------------------------------------------------

    async def record_failed_login(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            await LoginAttempt.create(key=key)

    async def failed_logins_since(self, key: str, since: datetime) -> int:
        return await LoginAttempt.filter(key=key, created_at__gte=since).count()

    async def clear_failed_logins(self, key: str) -> None:
        await LoginAttempt.filter(key=key).delete()
