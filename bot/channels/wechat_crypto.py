"""WeChat Official Account message security: request signatures and the safe-mode AES envelope.

Safe mode encrypts every message with AES-256-CBC under the EncodingAESKey (43 base64 characters without
the trailing "="). The plaintext is 16 random bytes, the 4-byte big-endian length of the XML, the XML and
the app id, padded PKCS#7-style to 32-byte blocks. The IV is the first 16 bytes of the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.errors import PlaintError

# WeChat pads to 32 bytes although AES blocks are 16: `cryptography`'s PKCS7(128) unpadder refuses pads
# above 16, so padding is done here by hand.
_PAD_BLOCK = 32
_RANDOM_PREFIX = 16
_LENGTH_FIELD = 4


class WeChatSecurityError(PlaintError):
    """Root of what the security layer refuses; the webhook turns these into 400/403 answers."""


class InvalidSignature(WeChatSecurityError):
    """The signature does not match: the request did not come from WeChat (or was altered)."""


class InvalidCiphertext(WeChatSecurityError):
    """The Encrypt field is not valid base64, not whole blocks, or decrypts to a malformed plaintext."""


class InvalidAppId(WeChatSecurityError):
    """The message decrypted but was encrypted for another Official Account."""

    def __init__(self, received: str) -> None:
        super().__init__("message is for another app id")
        self.received = received


class InvalidAesKey(WeChatSecurityError, ValueError):
    """The configured EncodingAESKey is not 43 base64 characters encoding 32 bytes."""


def signature_of(*parts: str) -> str:
    """WeChat's signature: sha1 over the parts sorted as strings and concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def check_signature(expected: str | None, *parts: str) -> None:
    if not expected or not hmac.compare_digest(signature_of(*parts), expected.lower()):
        raise InvalidSignature("signature mismatch")


class WeChatCipher:
    """Encrypts replies and decrypts messages of one Official Account (one app id, one AES key)."""

    def __init__(self, encoding_aes_key: str, app_id: str) -> None:
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as error:
            raise InvalidAesKey("EncodingAESKey is not base64") from error
        if len(encoding_aes_key) != 43 or len(key) != 32:
            raise InvalidAesKey("EncodingAESKey must be 43 characters encoding 32 bytes")
        self._key = key
        self._iv = key[:16]
        self.app_id = app_id

    def encrypt(self, xml: str, random_prefix: bytes | None = None) -> str:
        prefix = os.urandom(_RANDOM_PREFIX) if random_prefix is None else random_prefix
        if len(prefix) != _RANDOM_PREFIX:
            raise ValueError("random prefix must be 16 bytes")
        body = xml.encode("utf-8")
        plaintext = prefix + struct.pack(">I", len(body)) + body + self.app_id.encode("utf-8")
        pad = _PAD_BLOCK - len(plaintext) % _PAD_BLOCK
        padded = plaintext + bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).encryptor()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        """The XML inside `encrypted`; raises InvalidCiphertext or InvalidAppId, never anything else."""
        try:
            ciphertext = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as error:
            raise InvalidCiphertext("Encrypt is not base64") from error
        if not ciphertext or len(ciphertext) % 16:
            raise InvalidCiphertext("ciphertext is not whole AES blocks")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        pad = padded[-1]
        if not 1 <= pad <= _PAD_BLOCK or pad > len(padded) or padded[-pad:] != bytes([pad]) * pad:
            raise InvalidCiphertext("bad padding")
        plaintext = padded[:-pad]
        header = _RANDOM_PREFIX + _LENGTH_FIELD
        if len(plaintext) < header:
            raise InvalidCiphertext("plaintext too short")
        (length,) = struct.unpack(">I", plaintext[_RANDOM_PREFIX:header])
        if header + length > len(plaintext):
            raise InvalidCiphertext("declared length exceeds plaintext")
        body = plaintext[header : header + length]
        received_app_id = plaintext[header + length :].decode("utf-8", errors="replace")
        if not hmac.compare_digest(received_app_id.encode("utf-8"), self.app_id.encode("utf-8")):
            raise InvalidAppId(received_app_id)
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidCiphertext("message is not UTF-8") from error
