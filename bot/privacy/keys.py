"""Where the data keys come from: PLAINT_DATA_KEY, or a key file under the data directory made on first run."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from bot.config import Settings
from storage.crypto import CryptoError, Keyring, format_keyring, install_keyring, new_data_key, parse_keyring

log = logging.getLogger(__name__)

KEY_FILE_NAME = "data.key"


class DataKeyError(Exception):
    """The data keys cannot be read or written; the message says which and why."""


def key_file(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE_NAME


def load_data_keyring(settings: Settings, *, create: bool = True) -> Keyring:
    """PLAINT_DATA_KEY when set (several workers must share it), else the key file, created when missing."""
    configured = settings.data_key.get_secret_value().strip()
    try:
        if configured:
            return parse_keyring(configured)
        path = key_file(settings)
        if not path.exists():
            if not create:
                raise DataKeyError(f"no data key: set PLAINT_DATA_KEY or restore {path}")
            # A distinct id per installation: data meeting the wrong key file says "unknown key", not "tampered".
            _write_key_file(path, format_keyring([new_data_key(f"k1-{secrets.token_hex(4)}")]))
            log.warning(
                "created a new data key in %s: personal data is encrypted with it. BACK IT UP (or copy it into "
                "PLAINT_DATA_KEY): without it the stored names, phone numbers and evidence cannot be read",
                path,
            )
        return parse_keyring(path.read_text(encoding="ascii"))
    except (OSError, CryptoError) as error:
        raise DataKeyError(f"cannot load the data key: {error}") from error


def install_data_keyring(settings: Settings) -> Keyring:
    keyring = load_data_keyring(settings)
    install_keyring(keyring)
    return keyring


def _write_key_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
    os.replace(temporary, path)


def add_key_to_file(settings: Settings, key_id: str) -> Keyring:
    """A new current key in the key file (older keys stay, to read what they encrypted)."""
    if settings.data_key.get_secret_value().strip():
        raise DataKeyError(
            "PLAINT_DATA_KEY is set: put the new key first in it (id:base64,...) yourself; this command only "
            "manages the key file"
        )
    keyring = load_data_keyring(settings)
    if any(key.key_id == key_id for key in keyring.keys):
        raise DataKeyError(f"key id {key_id!r} is already in the keyring")
    try:
        updated = Keyring([new_data_key(key_id), *keyring.keys])
    except CryptoError as error:
        raise DataKeyError(str(error)) from error
    _write_key_file(key_file(settings), format_keyring(updated.keys))
    return updated


def install_existing_data_keyring(settings: Settings) -> None:
    """For commands that only read: the keyring when one exists (nothing encrypted exists without one)."""
    if settings.data_key.get_secret_value().strip() or key_file(settings).exists():
        install_keyring(load_data_keyring(settings, create=False))
