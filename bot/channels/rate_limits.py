"""Token buckets keyed by who is asking (a web chat session, an IP address).

Kept in the worker's memory: with N workers behind a load balancer a client gets at most N times the
allowance, which still stops a flood; nothing is lost when a worker restarts but the counts."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Allowance:
    """`burst` requests at once, then one every `per_seconds`."""

    burst: int
    per_seconds: float


class RateLimiter:
    """One token bucket per key. At most `max_keys` buckets are kept: the least recently used goes first,
    so a stream of new keys (addresses, sessions) cannot grow memory without bound."""

    def __init__(
        self, allowance: Allowance, *, max_keys: int = 50_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._allowance = allowance
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Spend one request of `key`'s allowance: 0.0 when allowed, else the seconds until it would be."""
        now = self._clock()
        burst = float(self._allowance.burst)
        rate = 1.0 / self._allowance.per_seconds
        tokens, last = self._buckets.pop(key, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / rate
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return wait
