"""Which of the two conversation languages a customer speaks."""

from __future__ import annotations

import re
from typing import Literal

Lang = Literal["en", "zh"]

# CJK Unified Ideographs and extension A: enough to tell Chinese from Latin script.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def has_han(text: str) -> bool:
    """True when the text contains at least one Chinese character."""
    return _HAN.search(text) is not None


def detect_language(text: str) -> Lang | None:
    """The language of a message by its script: any Chinese character means zh, Latin words mean en.

    Digits, punctuation, e-mail addresses alone say nothing, so those return None.
    """
    if has_han(text):
        return "zh"
    stripped = re.sub(r"\S+@\S+", " ", text)
    if _LATIN_WORD.search(stripped):
        return "en"
    return None


def latin_word_count(text: str) -> int:
    return len(_LATIN_WORD.findall(text))


def language_from_locale(locale: str | None) -> Lang | None:
    """Map a platform language code ("zh-hans", "zh_CN", "en-US", "EN") to en/zh; None for others."""
    if not locale:
        return None
    primary = re.split(r"[-_]", locale.strip().lower(), maxsplit=1)[0]
    if primary == "zh":
        return "zh"
    if primary == "en":
        return "en"
    return None
