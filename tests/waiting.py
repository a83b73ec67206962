"""The one way tests wait for something to happen: poll until it does, on the clock, with a generous deadline.

The machine running the tests may be loaded (other suites, a cold cache): a deadline is how long before the
test gives up, never a speed the feature must reach, so the default is long and a met condition returns at once.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

# Seconds before a wait gives up: long, because the deadline only matters when the test fails anyway.
WITHIN = 60.0


async def eventually(
    probe: Callable[[], Awaitable[Any] | Any],
    what: str = "",
    *,
    accept: Callable[[Any], object] = bool,
    within: float = WITHIN,
    interval: float = 0.05,
) -> Any:
    """Call `probe` (a plain or an async function) until `accept` takes what it returns (by default: until it
    is true), and return that value; AssertionError naming `what` and the last value once `within` seconds
    have passed."""
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what or probe} (last value {value!r})")
        await asyncio.sleep(interval)
