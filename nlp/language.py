"""Language detection between the two languages Plaint serves (English and Chinese)."""

from __future__ import annotations

import re

from nlp.analysis import Lang

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")


def detect_language(text: str) -> Lang:
    """"zh" when Chinese characters carry the message, else "en".

    One Chinese character carries about as much as a short English word, so Chinese wins from a third
    of the Latin letter count: "我的iPhone屏幕坏了" is Chinese, "My order #123 from 京东" is English.
    """
    sample = text[:2000]
    cjk = len(_CJK.findall(sample))
    if cjk == 0:
        return "en"
    latin = len(_LATIN_LETTER.findall(sample))
    return "zh" if cjk * 3 >= latin else "en"
