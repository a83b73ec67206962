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


@pytest.fixture
def artefacts(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where a browser test saves its screenshots: $PLAINT_TEST_ARTEFACTS/<test> when set (CI keeps them),
    else the test's own pytest tmp dir (kept for the last few runs)."""
    root = os.environ.get("PLAINT_TEST_ARTEFACTS")
    if not root:
        return tmp_path
    name = "".join(char if char.isalnum() or char in "-_." else "_" for char in request.node.name)
    folder = Path(root) / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


