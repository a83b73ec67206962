"""The evidence blob store: bytes streamed to disk chunk by chunk, hashed on the way, named by content, and
encrypted frame by frame when a data keyring is installed (storage.crypto)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import filetype

from storage.crypto import FileEncryptor, decrypt_file_frames, file_key_id, installed_keyring
from storage.errors import EvidenceTooLarge

# Enough bytes for every signature filetype knows.
_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class StoredBlob:
    storage_key: str
    size: int
    sha256: str
    media_type: str


def sniff_media_type(head: bytes, declared: str | None) -> str:
    """Trust the bytes, not the sender; fall back to the declared type for text-like formats."""
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    if declared and declared.startswith("text/"):
        return declared
    if head and _looks_like_text(head):
        return "text/plain"
    return "application/octet-stream"


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head


class LocalEvidenceStore:
    """Files under `root`, laid out as ab/cd/<sha256>: identical uploads share one file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, storage_key: str) -> Path:
        path = (self.root / storage_key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError("storage key escapes the evidence directory")
        return path

    async def put(
        self, chunks: AsyncIterator[bytes], *, max_bytes: int, declared_media_type: str | None = None
    ) -> StoredBlob:
        incoming = self.root / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        temporary = incoming / f"{uuid.uuid4().hex}.part"
        digest = hashlib.sha256()
        size = 0
        head = b""
        keyring = installed_keyring()
        try:
            with temporary.open("wb") as sink:
                writer = FileEncryptor(sink, keyring) if keyring is not None else None
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise EvidenceTooLarge(max_bytes)
                    if len(head) < _SNIFF_BYTES:
                        head += chunk[: _SNIFF_BYTES - len(head)]
                    digest.update(chunk)
                    if writer is not None:
                        writer.write(chunk)
                    else:
                        sink.write(chunk)
                if writer is not None:
                    writer.close()
            sha256 = digest.hexdigest()
            storage_key = f"{sha256[:2]}/{sha256[2:4]}/{sha256}"
            final = self.path_of(storage_key)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, final)
        finally:
            temporary.unlink(missing_ok=True)
        return StoredBlob(storage_key, size, sha256, sniff_media_type(head, declared_media_type))

    async def read(self, storage_key: str, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
        """The plaintext, a frame at a time (frames are 64 KiB; `chunk_size` is kept for callers)."""
        with self.path_of(storage_key).open("rb") as source:
            for chunk in decrypt_file_frames(source, installed_keyring()):
                yield chunk

    def key_id_of(self, storage_key: str) -> str | None:
        with self.path_of(storage_key).open("rb") as source:
            return file_key_id(source)

    def reencrypt(self, storage_key: str) -> bool:
        """Rewrite one file under the current key (atomically: a killed process leaves the old file).
        False when it already is, or when no keyring is installed."""
        keyring = installed_keyring()
        final = self.path_of(storage_key)
        if keyring is None or self.key_id_of(storage_key) == keyring.current.key_id:
            return False
        temporary = final.with_name(f"{final.name}.{uuid.uuid4().hex}.part")
        try:
            with final.open("rb") as source, temporary.open("wb") as sink:
                writer = FileEncryptor(sink, keyring)
                for frame in decrypt_file_frames(source, keyring):
                    writer.write(frame)
                writer.close()
            os.replace(temporary, final)
        finally:
            temporary.unlink(missing_ok=True)
        return True

    def storage_keys(self) -> list[str]:
        """Every stored file's key, in a stable order (uploads in progress excluded)."""
        return sorted(
            str(path.relative_to(self.root)).replace(os.sep, "/")
            for path in self.root.glob("??/??/*")
            if path.is_file() and not path.name.endswith(".part")
        )
