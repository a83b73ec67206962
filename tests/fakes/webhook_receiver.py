"""A webhook receiver on 127.0.0.1 that records every delivery and checks each signature with the
verification snippet published in README.md (so the documentation is what is tested). It answers with the
statuses a test queues (503, 429 with Retry-After, 400...) before answering 200."""

from __future__ import annotations

import asyncio
import json
import re
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.serving import serving

README = Path(__file__).resolve().parents[2] / "README.md"

# verify_plaint_webhook(secret, timestamp, signature, body, now=None) as README defines it.
Verifier = Callable[..., bool]


def readme_verifier() -> Verifier:
    """The Python block under README's webhook verification text, executed as a receiver would paste it."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Webhooks"):]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None, "README has no webhook verification snippet"
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)
    verify: Verifier = namespace["verify_plaint_webhook"]
    return verify


@dataclass(frozen=True)
class ReceivedDelivery:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int

    @property
    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: str | None = None


@dataclass
class FakeWebhookReceiver:
    secrets: dict[str, str]  # path -> the secret that subscription was given
    received: list[ReceivedDelivery] = field(default_factory=list)
    answers: dict[str, deque[Answer]] = field(default_factory=dict)
    verify: Verifier = field(default_factory=readme_verifier)
    # Seconds each answer takes: a slow receiver keeps deliveries in flight (shutdown tests).
    delay: float = 0.0

    def answer_next(self, path: str, *answers: Answer) -> None:
        self.answers.setdefault(path, deque()).extend(answers)

    def accepted(self, path: str | None = None) -> list[ReceivedDelivery]:
        return [item for item in self.received if item.answered == 200 and (path is None or item.path == path)]

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)
        secret = self.secrets.get(request.path, "")
        verified = self.verify(
            secret, request.headers.get("Plaint-Timestamp", ""), request.headers.get("Plaint-Signature", ""), body
        )
        queued = self.answers.get(request.path)
        answer = queued.popleft() if queued else Answer(200 if verified else 401)
        self.received.append(ReceivedDelivery(request.path, dict(request.headers), body, verified, answer.status))
        headers = {"Retry-After": answer.retry_after} if answer.retry_after else None
        return web.Response(status=answer.status, text="ok" if answer.status == 200 else "no", headers=headers)

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        app = web.Application()
        app.router.add_post("/{path:.*}", self._receive)
        async with serving(app) as base_url:
            yield base_url
