from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.errors import EvidenceTooLarge
from storage.evidence import LocalEvidenceStore, sniff_media_type

PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32


async def chunks(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_put_streams_hashes_and_sniffs(tmp_path: Path) -> None:
    store = LocalEvidenceStore(tmp_path)
    data = PNG_HEAD + bytes(range(256)) * 40
    blob = await store.put(chunks(data), max_bytes=1_000_000, declared_media_type="application/pdf")
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert blob.size == len(data)
    # The bytes win over what the sender declared.
    assert blob.media_type == "image/png"
    assert store.path_of(blob.storage_key).read_bytes() == data
    read_back = b"".join([chunk async for chunk in store.read(blob.storage_key)])
    assert read_back == data
    assert list((tmp_path / "incoming").iterdir()) == []


async def test_oversized_upload_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    store = LocalEvidenceStore(tmp_path)
    with pytest.raises(EvidenceTooLarge) as raised:
        await store.put(chunks(b"a" * 5000), max_bytes=4096)
    assert raised.value.limit_bytes == 4096
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


async def test_storage_keys_cannot_escape_the_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        LocalEvidenceStore(tmp_path).path_of("../../etc/passwd")


def test_sniffing_text_and_unknown_bytes() -> None:
    assert sniff_media_type("投诉内容".encode(), None) == "text/plain"
    assert sniff_media_type(b"\x00\x01\x02\xff", "image/png") == "application/octet-stream"
    assert sniff_media_type(b"%PDF-1.4\n", None) == "application/pdf"
