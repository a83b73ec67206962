"""Contact details as a viewer sees them: enough to tell two customers apart, not enough to reach them."""

from __future__ import annotations

import re

# A phone number as people type it: digits with spaces, dots, dashes or brackets between them. One pass, no
# nested repetition: linear in the text.
_PHONE_LIKE = re.compile(r"\+?\d[\d ().\-]*\d")
# Digits that identify a number whatever prefix (+44, 0, 0086) it was typed with.
_PHONE_TAIL = 7


def mask_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain[:1]}***"
    digits = sum(character.isdigit() for character in value)
    if digits >= 5:
        return "*" * max(len(value) - 2, 1) + value[-2:]
    return value[:1] + "***" if value else value


def mask_in(text: str, secrets: list[str | None]) -> str:
    """The text with every occurrence of each secret (name, phone, email) masked; a phone number also as the
    customer typed it (`020 7946 0958` for a stored `+442079460958`)."""
    for secret in sorted((s for s in secrets if s and len(s.strip()) >= 2), key=len, reverse=True):
        text = text.replace(secret, mask_text(secret) or "")
    tails = {digits[-_PHONE_TAIL:] for digits in ("".join(filter(str.isdigit, s or "")) for s in secrets)
             if len(digits) >= _PHONE_TAIL}
    if not tails:
        return text

    def masked_phone(match: re.Match[str]) -> str:
        digits = "".join(filter(str.isdigit, match.group()))
        if len(digits) >= _PHONE_TAIL and digits[-_PHONE_TAIL:] in tails:
            return mask_text(match.group()) or ""
        return match.group()

    return _PHONE_LIKE.sub(masked_phone, text)
