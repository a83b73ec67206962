"""Which of the two conversation languages a customer speaks: the one ``Lang`` and ``detect_language``.

Every function here looks at a bounded prefix of the text and scans it once, so a message of any size
costs the same small amount of time (a 100,000-character word once took seconds in a backtracking regex).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import opencc

Lang = Literal["en", "zh"]

# Enough text to tell the script; a message is not read further than this for its language.
LANGUAGE_SAMPLE = 2000


def _is_han(char: str) -> bool:
    # CJK Unified Ideographs and extension A: enough to tell Chinese from Latin script.
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def simplified(text: str) -> str:
    """Traditional Chinese characters as simplified ones (兩個都要 -> 两个都要, 上週五 -> 上周五), for matching
    words and reading dates; what the customer typed is stored as typed."""
    return _converted("t2s", text)


def to_traditional(text: str) -> str:
    """The flow's simplified Chinese in traditional characters, for a customer who writes them."""
    # Taiwan standard characters (為, 裡, 著), the ones traditional writers use day to day in Taiwan and Hong Kong;
    # OpenCC's own standard (s2t) gives variants few of them write (爲, 裏).
    return _converted("s2tw", text)


def _converted(config: str, text: str) -> str:
    if not any(_is_han(char) for char in text):
        return text
    # OpenCC encodes to UTF-8, which a lone surrogate (broken JSON from a client) cannot be: it becomes "?".
    converted: str = _converter(config).convert(text.encode("utf-8", "replace").decode("utf-8"))
    return converted


def writes_traditional(text: str) -> bool | None:
    """Whether a message is written in traditional characters (兩個都要: True; 两个都要: False); None when its
    characters are the same in both (你好, 不是) or it has none."""
    if not any(_is_han(char) for char in text[:LANGUAGE_SAMPLE]):
        return None
    sample = text[:LANGUAGE_SAMPLE]
    if simplified(sample) != sample:
        return True
    return False if to_traditional(sample) != sample else None


@functools.cache
def _converter(config: str) -> opencc.OpenCC:
    import opencc  # only once a message has Chinese in it

    return opencc.OpenCC(config)


def _is_latin_letter(char: str) -> bool:
    return "a" <= char <= "z" or "A" <= char <= "Z"


def has_han(text: str) -> bool:
    """True when the text (its first LANGUAGE_SAMPLE characters) contains a Chinese character."""
    return any(_is_han(char) for char in text[:LANGUAGE_SAMPLE])


def latin_word_count(text: str, *, enough: int | None = None) -> int:
    """Runs of two or more Latin letters in the sample, not counting tokens that are e-mail addresses.

    With ``enough`` the count stops there (the caller only needs to know it reached that many).
    """
    count = 0
    for token in text[:LANGUAGE_SAMPLE].split():
        if "@" in token:
            continue
        run = 0
        for char in token:
            if _is_latin_letter(char):
                run += 1
                if run == 2:
                    count += 1
                    if count == enough:
                        return count
            else:
                run = 0
    return count


def detect_language(text: str) -> Lang | None:
    """The language of a message by its script, or None when it has no words (digits, addresses ...).

    One Chinese character carries about as much as a short English word, so Chinese wins from a third
    of the Latin letter count: "我的iPhone屏幕坏了" is Chinese, "My order #123 from 京东" is English.
    E-mail addresses are left out of the count: they say nothing about the language.
    """
    han = 0
    latin = 0
    for token in text[:LANGUAGE_SAMPLE].split():
        # A token with an address in it ("邮箱lina@example.cn") counts for its Chinese, not its letters.
        address = "@" in token
        for char in token:
            if _is_han(char):
                han += 1
            elif not address and (_is_latin_letter(char) or "\u00c0" <= char <= "\u024f"):
                latin += 1
    if han and han * 3 >= latin:
        return "zh"
    if latin_word_count(text, enough=1) > 0:
        return "en"
    return "zh" if han else None


def language_from_locale(locale: str | None) -> Lang | None:
    """Map a platform language code ("zh-hans", "zh_CN", "en-US", "EN") to en/zh; None for others."""
    if not locale:
        return None
    primary = locale[:64].strip().lower().replace("_", "-").split("-", 1)[0]
    if primary == "zh":
        return "zh"
    if primary == "en":
        return "en"
    return None
