from __future__ import annotations

import pytest

from nlp import detect_language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("My parcel never arrived", "en"),
        ("快递一直没有到", "zh"),
        ("我的iPhone屏幕坏了", "zh"),
        ("I ordered from 京东 and the laptop is broken", "en"),
        ("", "en"),
        ("😡😡", "en"),
        ("１２３，。！", "zh"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang
