"""One-time web chat links: a link's nonce is spent once, whichever worker opens it."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from storage.models import SpentLink


class TortoiseSpentLinks:
    async def spend(self, nonce: str, expires: int) -> bool:
        now = datetime.now(UTC)
        # Expired rows are dead weight: whoever spends a link clears them (an index range, a few rows).
        await SpentLink.filter(expires_at__lt=now).delete()
        try:
            await SpentLink.create(nonce=nonce, expires_at=datetime.fromtimestamp(expires, UTC))
        except IntegrityError:
            return False
        return True
