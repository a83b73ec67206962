"""Personal data encrypted at rest: AES-GCM per field with identified, rotatable keys; keyed hashes for exact
lookups; evidence files encrypted in fixed-size frames so they are never whole in memory.

A stored value reads `pl1:<key id>:<base64url(nonce || ciphertext || tag)>`: the key id travels with the
ciphertext, so rows written under an older key stay readable while `plaint keys rotate` rewrites them. The keys
themselves never touch the database: the application installs a Keyring (from PLAINT_DATA_KEY or a key file)
before it opens the ORM. Without one, values are written as they are (the bench's "encryption off").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from tortoise import fields

from storage.errors import StorageError

VALUE_PREFIX = "pl1:"
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_NONCE_BYTES = 12
# Evidence files: magic, key id, then frames of at most FRAME_BYTES plaintext, each sealed with its own nonce
# (random prefix + frame counter) and a last-frame flag in the associated data, so truncation is detected.
FILE_MAGIC = b"PLAINTE1"
FRAME_BYTES = 64 * 1024
_TAG_BYTES = 16


class CryptoError(StorageError):
    """Encrypted data that cannot be read or written."""


class KeyringMissing(CryptoError):
    def __init__(self) -> None:
        super().__init__("encrypted data found but no data key is installed (PLAINT_DATA_KEY or the key file)")


class UnknownDataKey(CryptoError):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"data encrypted with key {key_id!r}, which is not in the keyring")
        self.key_id = key_id


class TamperedData(CryptoError):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} failed authentication (corrupted, truncated or encrypted for another place)")
        self.what = what


@dataclass(frozen=True)
class DataKey:
    key_id: str
    secret: bytes

    def __post_init__(self) -> None:
        if not KEY_ID_PATTERN.match(self.key_id):
            raise CryptoError("a key id is 1-32 characters of A-Z a-z 0-9 _ -")
        if len(self.secret) != 32:
            raise CryptoError(f"data key {self.key_id!r} must be 32 bytes (256 bits)")

    def __repr__(self) -> str:
        return f"DataKey({self.key_id!r}, <secret>)"


def new_data_key(key_id: str) -> DataKey:
    return DataKey(key_id, AESGCM.generate_key(bit_length=256))


def parse_keyring(text: str) -> Keyring:
    """`id:base64key[,id:base64key...]`, current key first (the form of PLAINT_DATA_KEY and the key file)."""
    keys = []
    for part in (piece.strip() for piece in text.replace("\n", ",").split(",")):
        if not part or part.startswith("#"):
            continue
        key_id, sep, encoded = part.partition(":")
        if not sep:
            raise CryptoError("each data key is written id:base64 (for example k1:...)")
        try:
            secret = base64.urlsafe_b64decode(encoded.strip() + "=" * (-len(encoded.strip()) % 4))
        except ValueError as error:
            raise CryptoError(f"data key {key_id!r} is not base64") from error
        keys.append(DataKey(key_id.strip(), secret))
    return Keyring(keys)


def format_keyring(keys: Sequence[DataKey]) -> str:
    return ",".join(f"{key.key_id}:{base64.urlsafe_b64encode(key.secret).decode('ascii')}" for key in keys)


class Keyring:
    """The data keys this process knows; the first one encrypts, all of them decrypt."""

    def __init__(self, keys: Sequence[DataKey]) -> None:
        if not keys:
            raise CryptoError("the keyring is empty")
        ids = [key.key_id for key in keys]
        if len(set(ids)) != len(ids):
            raise CryptoError("two data keys share an id")
        self.keys = tuple(keys)
        self._by_id = {key.key_id: key for key in keys}
        self._ciphers = {key.key_id: AESGCM(key.secret) for key in keys}
        self._lookup_keys = {key.key_id: _derive(key.secret, b"plaint lookup hash") for key in keys}

    @property
    def current(self) -> DataKey:
        return self.keys[0]

    def encrypt(self, plaintext: bytes) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._ciphers[self.current.key_id].encrypt(nonce, plaintext, None)
        return f"{VALUE_PREFIX}{self.current.key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, token: str) -> bytes:
        key_id, body = _split_token(token)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UnknownDataKey(key_id)
        try:
            raw = base64.urlsafe_b64decode(body)
            return cipher.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None)
        except (InvalidTag, ValueError) as error:
            raise TamperedData("an encrypted field") from error

    def lookup_hashes(self, kind: str, value: str) -> list[str]:
        """The keyed hash of a normalised value under every key (rows not yet rotated carry an older one)."""
        return [_keyed_hash(self._lookup_keys[key.key_id], kind, value) for key in self.keys]

    def lookup_hash(self, kind: str, value: str) -> str:
        return _keyed_hash(self._lookup_keys[self.current.key_id], kind, value)

    def file_cipher(self, key_id: str | None = None) -> tuple[str, AESGCM]:
        key_id = key_id or self.current.key_id
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UnknownDataKey(key_id)
        return key_id, cipher


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


def _keyed_hash(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def _split_token(token: str) -> tuple[str, str]:
    key_id, sep, body = token[len(VALUE_PREFIX):].partition(":")
    if not sep:
        raise TamperedData("an encrypted field")
    return key_id, body


def key_id_of(stored: object) -> str | None:
    """The key a stored (raw) value was encrypted with; None for plaintext or NULL."""
    if isinstance(stored, str) and stored.startswith(VALUE_PREFIX):
        return _split_token(stored)[0]
    return None


# The process's keyring. Tortoise converts field values synchronously and without context, so the keyring is
# installed once by the composition root (like Tortoise's own connections) rather than passed to every call.
_installed: Keyring | None = None


def install_keyring(keyring: Keyring | None) -> None:
    global _installed
    _installed = keyring


def installed_keyring() -> Keyring | None:
    return _installed


def _require_keyring() -> Keyring:
    if _installed is None:
        raise KeyringMissing()
    return _installed


def normalise_phone(value: str) -> str:
    digits = "".join(char for char in value if char.isdigit())
    return ("+" if value.strip().startswith("+") else "") + digits


def normalise_email(value: str) -> str:
    return value.strip().lower()


def lookup_hash(kind: str, value: str | None) -> str | None:
    """The keyed hash stored beside an encrypted phone/email; None when there is no value or no keyring."""
    if not value or _installed is None:
        return None
    normalised = normalise_phone(value) if kind == "phone" else normalise_email(value)
    return _installed.lookup_hash(kind, normalised)


def lookup_hashes(kind: str, value: str) -> list[str]:
    normalised = normalise_phone(value) if kind == "phone" else normalise_email(value)
    return _require_keyring().lookup_hashes(kind, normalised)


# Backups copy ciphertext as it is (a backup is no weaker than the database): inside `ciphertext_as_is()` the
# encrypted fields neither decrypt on read nor encrypt on write. A context variable, so only the task doing the
# backup or restore sees it, never a conversation served by the same process.
_as_is: ContextVar[bool] = ContextVar("plaint_ciphertext_as_is", default=False)


@contextmanager
def ciphertext_as_is() -> Iterator[None]:
    token = _as_is.set(True)
    try:
        yield
    finally:
        _as_is.reset(token)


def encrypt_text(value: str) -> str:
    if _installed is None or _as_is.get():
        return value
    # A lone surrogate (from a platform's JSON "\ud800") cannot be UTF-8: stored as "?" rather than failing the
    # whole message (found by the Slack fuzz test: a 500).
    return _installed.encrypt(value.encode("utf-8", "replace"))


def decrypt_text(stored: str) -> str:
    if _as_is.get() or not stored.startswith(VALUE_PREFIX):
        return stored  # written before encryption was on; `plaint keys rotate` encrypts it
    return _require_keyring().decrypt(stored).decode("utf-8")


class EncryptedTextField(fields.TextField):
    """A text column holding `pl1:` ciphertext; the model attribute is the plaintext str.
    Never filter on it (every encryption differs): look up through a keyed-hash column instead."""

    def to_db_value(self, value: Any, instance: Any) -> Any:
        if value is None:
            return None
        return encrypt_text(str(value))

    def to_python_value(self, value: Any) -> Any:
        if value is None or not isinstance(value, str):
            return value
        return decrypt_text(value)


class EncryptedJSONField(fields.JSONField):  # type: ignore[type-arg]
    """A JSON document encrypted as one text value (conversation state, message payloads). A JSONField to
    the ORM (same Python type, so the migration only changes the column), TEXT to the database."""

    SQL_TYPE = "TEXT"

    class _db_postgres:
        SQL_TYPE = "TEXT"

    class _db_mysql:
        SQL_TYPE = "LONGTEXT"

    class _db_mssql:
        SQL_TYPE = "NVARCHAR(MAX)"

    class _db_oracle:
        SQL_TYPE = "NCLOB"

    def to_db_value(self, value: Any, instance: Any) -> Any:
        if value is None:
            return None
        if _as_is.get():
            return value  # the stored text, copied by a backup
        return encrypt_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def to_python_value(self, value: Any) -> Any:
        if value is None or not isinstance(value, str | bytes):
            return value  # already a document (a JSON column read by a driver that decodes it)
        text = value.decode("utf-8") if isinstance(value, bytes) else value
        if _as_is.get():
            return text
        return json.loads(decrypt_text(text))


# --- Evidence files ---------------------------------------------------------------------------------------


def _frame_nonce(prefix: bytes, counter: int) -> bytes:
    return prefix + counter.to_bytes(4, "big")


def _frame_aad(counter: int, last: bool) -> bytes:
    return counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class FileEncryptor:
    """Writes an encrypted evidence file frame by frame; `write` buffers at most one frame of plaintext."""

    def __init__(self, sink: BinaryIO, keyring: Keyring) -> None:
        key_id, self._cipher = keyring.file_cipher()
        self._sink = sink
        self._prefix = os.urandom(8)
        self._counter = 0
        self._buffer = bytearray()
        encoded_id = key_id.encode("ascii")
        sink.write(FILE_MAGIC + bytes([len(encoded_id)]) + encoded_id + self._prefix)

    def write(self, data: bytes) -> None:
        self._buffer += data
        # Keep the last (possibly full) frame back: only close() knows which frame is the last.
        while len(self._buffer) > FRAME_BYTES:
            self._seal(bytes(self._buffer[:FRAME_BYTES]), last=False)
            del self._buffer[:FRAME_BYTES]

    def close(self) -> None:
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()

    def _seal(self, frame: bytes, *, last: bool) -> None:
        nonce = _frame_nonce(self._prefix, self._counter)
        self._sink.write(self._cipher.encrypt(nonce, frame, _frame_aad(self._counter, last)))
        self._counter += 1


def file_key_id(source: BinaryIO) -> str | None:
    """The key id of an encrypted evidence file (None: a plaintext file from before encryption); the stream is
    left at the first frame."""
    head = source.read(len(FILE_MAGIC))
    if head != FILE_MAGIC:
        source.seek(0)
        return None
    length = source.read(1)
    if not length:
        raise TamperedData("an evidence file")
    return source.read(length[0]).decode("ascii", "replace")


def decrypt_file_frames(source: BinaryIO, keyring: Keyring | None) -> Iterator[bytes]:
    """Plaintext of an evidence file, one frame at a time (plaintext files pass through unchanged)."""
    key_id = file_key_id(source)
    if key_id is None:
        while chunk := source.read(FRAME_BYTES):
            yield chunk
        return
    if keyring is None:
        raise KeyringMissing()
    _, cipher = keyring.file_cipher(key_id)
    prefix = source.read(8)
    sealed_size = FRAME_BYTES + _TAG_BYTES
    counter = 0
    current = source.read(sealed_size)
    while True:
        following = source.read(sealed_size) if len(current) == sealed_size else b""
        last = not following
        try:
            yield cipher.decrypt(_frame_nonce(prefix, counter), current, _frame_aad(counter, last))
        except InvalidTag as error:
            raise TamperedData("an evidence file") from error
        if last:
            return
        current = following
        counter += 1


async def aiter_frames(frames: Iterator[bytes]) -> AsyncIterator[bytes]:
    for frame in frames:
        yield frame
