"""Links to evidence files that agents open from Slack: signed and expiring, since Slack messages get
forwarded and the files are customers' private photos and documents."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from bot.messages import OutboundFile
from storage.cases import TortoiseCaseRepository
from storage.errors import EvidenceNotFound
from storage.evidence import LocalEvidenceStore

LINK_LIFETIME_SECONDS = 30 * 24 * 3600


def evidence_secret(configured: str, data_dir: Path) -> bytes:
    """PLAINT_EVIDENCE_SECRET when set (several workers must share it); else one kept in the data directory."""
    if configured:
        return configured.encode()
    key_file = data_dir / "evidence-link.key"
    if not key_file.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Written whole under a name of its own, then linked into place: workers starting together all end up
        # with the first one's key, and none reads a half-written (or empty) file.
        draft = data_dir / f"evidence-link.key.{secrets.token_hex(8)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return key_file.read_text(encoding="ascii").strip().encode()


class EvidenceLinks:
    def __init__(self, secret: bytes, public_url: str) -> None:
        self._secret = secret
        self._base = public_url.rstrip("/")

    def _signature(self, evidence_id: int, expires: int) -> str:
        message = f"{evidence_id}:{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def url(self, evidence_id: int, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + LINK_LIFETIME_SECONDS)
        return f"{self._base}/evidence/{evidence_id}?expires={expires}&sig={self._signature(evidence_id, expires)}"

    def verify(self, evidence_id: int, expires: str, signature: str, now: float | None = None) -> bool:
        if not expires.isdigit() or int(expires) < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(self._signature(evidence_id, int(expires)), signature)


class EvidenceDownloads:
    """GET /evidence/{id}: streams the stored file to whoever holds a valid link."""

    def __init__(self, links: EvidenceLinks, store: LocalEvidenceStore) -> None:
        self._links = links
        self._store = store
        self._cases = TortoiseCaseRepository()

    async def download(self, request: web.Request) -> web.StreamResponse:
        raw_id = request.match_info["evidence_id"]
        if not raw_id.isdigit() or not self._links.verify(
            int(raw_id), request.query.get("expires", ""), request.query.get("sig", "")
        ):
            raise web.HTTPForbidden(text="this evidence link is invalid or has expired")
        try:
            item = await self._cases.evidence(int(raw_id))
        except EvidenceNotFound:
            raise web.HTTPNotFound(text="no such evidence") from None
        response = web.StreamResponse(
            headers={
                "Content-Type": item.media_type,
                "Content-Length": str(item.size),
                "Content-Disposition": f"inline; filename*=UTF-8''{quote(item.file_name, safe='')}",
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, no-store",
            }
        )
        await response.prepare(request)
        async for chunk in self._store.read(item.storage_key):
            await response.write(chunk)
        await response.write_eof()
        return response



class EvidenceFileSource:
    """An agent's file, stored as case evidence, made ready to send (bot.outbox.OutboundFileSource): its bytes
    from the evidence store and a signed link."""

    def __init__(self, links: EvidenceLinks, store: LocalEvidenceStore) -> None:
        self._links = links
        self._store = store
        self._cases = TortoiseCaseRepository()

    async def resolve(self, item: OutboundFile) -> OutboundFile:
        try:
            stored = await self._cases.evidence(item.evidence_id)
        except EvidenceNotFound:
            # Erased since it was queued: nothing to send; the channel's link fallback refuses it for good.
            return dataclasses.replace(item, url=None, open_stream=None)
        key = stored.storage_key
        return dataclasses.replace(
            item, url=self._links.url(item.evidence_id), open_stream=lambda: self._store.read(key)
        )
