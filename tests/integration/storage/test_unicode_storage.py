"""Chinese and emoji survive every backend, encrypted or not (MariaDB needs utf8mb4 for the 4-byte ones)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from storage.crypto import Keyring, install_keyring, installed_keyring, new_data_key
from storage.database import open_database
from storage.models import Case, Customer
from tests.integration.privacy.raw_database import raw_dump

NAME = "王小明 🙂"
PRODUCT = "洗衣机 🧺"
WORDS = "楼下邻居家也被淹了 😡💧 𠀀"  # 𠀀 is outside the Basic Multilingual Plane, like emoji


@pytest_asyncio.fixture
async def plaintext_database(database_url: str) -> AsyncIterator[None]:
    previous = installed_keyring()
    install_keyring(None)
    try:
        async with open_database(database_url):
            yield
    finally:
        install_keyring(previous)


async def _case(number: str) -> Case:
    customer = await Customer.create(display_name=NAME)
    return await Case.create(number=number, status="new", customer=customer, channel="web", sender_id="s",
                             lang="zh", name=NAME, description=WORDS, product=PRODUCT, category="质量")


async def test_unencrypted_text_keeps_chinese_and_emoji(plaintext_database: None) -> None:
    await _case("PL-UNI001")
    case = await Case.get(number="PL-UNI001")
    assert (case.name, case.description, case.product, case.category) == (NAME, WORDS, PRODUCT, "质量")
    stored = await raw_dump()
    assert NAME in stored and WORDS in stored and PRODUCT in stored


async def test_encrypted_text_keeps_chinese_and_emoji(plaintext_database: None) -> None:
    install_keyring(Keyring([new_data_key("k1")]))
    await _case("PL-UNI002")
    case = await Case.get(number="PL-UNI002")
    assert (case.name, case.description, case.product) == (NAME, WORDS, PRODUCT)
    assert WORDS not in await raw_dump()
