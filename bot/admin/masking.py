"""Contact details as a viewer sees them: enough to tell two customers apart, not enough to reach them."""

from __future__ import annotations


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
    """The text with every occurrence of each secret (name, phone, email) masked."""
    for secret in sorted((s for s in secrets if s and len(s.strip()) >= 2), key=len, reverse=True):
        text = text.replace(secret, mask_text(secret) or "")
    return text
