"""E-mail and phone answers, validated with email-validator and phonenumbers."""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass

from flows.language import Lang

# RFC 5321 caps an address at 254 characters; anything longer is refused before the validator reads it.
MAX_EMAIL_LENGTH = 254
# The longest way people write a phone number (spaces, dashes, an extension) stays well under this.
MAX_PHONE_LENGTH = 40

# Where a number written without a country code is looked for after the flow's own default region, by the
# conversation's language: an English speaker's "(201) 555-0123" is American and "020 7946 0958" British (US numbers
# never start with 0), not Chinese; a Chinese speaker's number is Chinese. The first region it is valid in wins.
PHONE_REGIONS: dict[Lang, tuple[str, ...]] = {"en": ("US", "GB", "CN"), "zh": ("CN",)}

# phonenumbers and email-validator take a tenth of a second to import: on first use, not at start-up (the server's
# model loader thread imports them after start-up); the lock keeps two threads from importing them at once.
_IMPORT_LOCK = threading.Lock()


def import_contact_parsers() -> None:
    with _IMPORT_LOCK:
        import email_validator  # noqa: F401
        import phonenumbers  # noqa: F401


@dataclass(frozen=True)
class InvalidAnswer:
    """Why an answer was refused; ``detail`` is a library message shown next to our own text."""

    detail: str = ""


def parse_email(text: str) -> str | InvalidAnswer:
    """The normalised address (domain lower-cased), or why it is not one; no DNS look-up (pure)."""
    if len(text) > MAX_EMAIL_LENGTH + 16:
        return InvalidAnswer(f"an email address has at most {MAX_EMAIL_LENGTH} characters")
    # Full-width letters and ＠ (a Chinese keyboard's) are the ASCII ones.
    candidate = unicodedata.normalize("NFKC", text).strip().strip("<>").strip()
    if candidate.lower().startswith("mailto:"):
        candidate = candidate[len("mailto:") :]
    import_contact_parsers()
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as error:
        return InvalidAnswer(str(error))
    return result.normalized


def parse_phone(text: str, default_region: str | None, lang: Lang = "zh") -> str | InvalidAnswer:
    """The number in E.164 (+8613812345678), or why it is not a valid number.

    A number with a country code is taken as is. Without one it is tried in ``default_region``, then in the
    regions of the conversation's language (PHONE_REGIONS; each ends with China, so "13812345678" and
    "138 1234 5678" are understood in either language).
    """
    if len(text) > MAX_PHONE_LENGTH * 4:
        return InvalidAnswer()
    candidate = text.strip()
    if not candidate or len(candidate) > MAX_PHONE_LENGTH:
        return InvalidAnswer()
    regions: list[str | None] = [None] if candidate.startswith(("+", "＋", "00")) else []
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    regions += [region for region in (default_region, *PHONE_REGIONS[lang]) if region is not None]
    import_contact_parsers()
    import phonenumbers

    for region in regions:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return InvalidAnswer()


def format_phone(e164: str) -> str:
    """A stored E.164 number the way people read it: "+44 20 7946 0958", "+86 138 1234 5678"."""
    import_contact_parsers()
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
