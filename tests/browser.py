"""A real browser for tests: Debian's chromium driven by Playwright for Python.

Skipped with a message when /usr/bin/chromium is missing, unless PLAINT_TEST_BROWSER=required (CI), where a
missing browser fails the test. `playwright install` is never needed: the system chromium is used."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

CHROMIUM = Path(os.environ.get("PLAINT_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if TYPE_CHECKING:
    from playwright.async_api import Browser


def _require_browser() -> None:
    if CHROMIUM.exists():
        return
    message = f"browser tests need chromium at {CHROMIUM} (apt-get install -y chromium fonts-noto-cjk)"
    if os.environ.get("PLAINT_TEST_BROWSER") == "required":
        pytest.fail(f"PLAINT_TEST_BROWSER=required but {message}")
    pytest.skip(message)


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    """A fresh headless chromium per test; pages come from `await browser.new_page(...)`."""
    _require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()
