"""Platform access tokens shared by every worker through the database (WeChat caps token refreshes a day,
so each process fetching its own would exhaust the quota and invalidate the others' tokens)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tortoise.exceptions import IntegrityError

from storage.models import SharedToken


@dataclass(frozen=True)
class StoredToken:
    value: str
    expires_at: datetime


class TokenValue(Protocol):
    @property
    def value(self) -> str: ...

    @property
    def expires_at(self) -> datetime: ...


class TortoiseSharedTokenStore:
    async def load(self, name: str) -> StoredToken | None:
        row = await SharedToken.get_or_none(name=name)
        if row is None:
            return None
        return StoredToken(value=row.value, expires_at=row.expires_at)

    async def save(self, name: str, token: TokenValue) -> None:
        updated = await SharedToken.filter(name=name).update(value=token.value, expires_at=token.expires_at)
        if updated:
            return
        try:
            await SharedToken.create(name=name, value=token.value, expires_at=token.expires_at)
        except IntegrityError:
            # Another worker inserted the row between our update and insert: the newest fetch wins.
            await SharedToken.filter(name=name).update(value=token.value, expires_at=token.expires_at)
