"""A fake Telegram Bot API server on 127.0.0.1 that records every call it receives.

It speaks the wire format python-telegram-bot uses (form-encoded or multipart parameters, JSON-encoded
non-string values, `{"ok": ..., "result": ...}` answers), serves file downloads, and fails on demand
(429 with retry_after, 403 blocked) so the channel's error mapping is exercised for real.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

from aiohttp import web

from tests.serving import serving

BOT_USER_ID = 7000001
BOT_USERNAME = "plaint_test_bot"
# Served in pieces so a client that buffers the whole body and one that streams behave differently.
DOWNLOAD_CHUNK_BYTES = 16 * 1024


@dataclass(frozen=True)
class BotApiCall:
    method: str
    params: Mapping[str, str]

    def json_param(self, name: str) -> object:
        """A parameter PTB JSON-encoded because it is not a string (reply_markup, allowed_updates...)."""
        return json.loads(self.params[name])


@dataclass(frozen=True)
class InjectedFailure:
    status: int
    description: str
    retry_after: int | None = None

    @classmethod
    def too_many_requests(cls, retry_after: int) -> InjectedFailure:
        return cls(429, f"Too Many Requests: retry after {retry_after}", retry_after)

    @classmethod
    def blocked_by_user(cls) -> InjectedFailure:
        return cls(403, "Forbidden: bot was blocked by the user")


@dataclass(frozen=True)
class HostedFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded (sendDocument, sendPhoto): the form field, its file name and its bytes."""

    method: str
    field: str
    file_name: str
    content: bytes


@dataclass
class FakeTelegramBotApi:
    token: str
    calls: list[BotApiCall] = field(default_factory=list)
    # File paths fetched through the download URL, in order.
    downloads: list[str] = field(default_factory=list)
    # What sendMessage answered, in order: the bot's messages as Telegram would show them (a test presses
    # their buttons by quoting them in a callback_query).
    sent_messages: list[dict[str, object]] = field(default_factory=list)
    # Files the bot uploaded, in order.
    uploads: list[UploadedFile] = field(default_factory=list)
    webhook_url: str = ""
    webhook_secret: str = ""
    # What getWebhookInfo reports as Telegram's last failed delivery to the webhook ("" when none).
    webhook_last_error: str = ""
    # While set and not yet released, file downloads wait on it (Telegram's file server being slow): a test holds
    # a turn half way, does something, then releases it. `download_waiting` is set once one waits.
    download_gate: asyncio.Event | None = None
    download_waiting: asyncio.Event = field(default_factory=asyncio.Event)
    _files: dict[str, HostedFile] = field(default_factory=dict)
    _failures: dict[str, deque[InjectedFailure]] = field(default_factory=dict)
    _pending_updates: list[dict[str, object]] = field(default_factory=list)
    _updates_arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))
    # A call held without an answer (see hold()): `held` is set when it arrives, `release` lets it fail.
    _held_method: str | None = None
    held: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    # -- what tests arrange ----------------------------------------------------------------------------

    def host_file(self, content: bytes, *, file_id: str, file_path: str) -> HostedFile:
        hosted = HostedFile(file_id, f"u-{file_id}", file_path, content)
        self._files[file_id] = hosted
        return hosted

    def fail_next(self, method: str, failure: InjectedFailure, times: int = 1) -> None:
        self._failures.setdefault(method.lower(), deque()).extend([failure] * times)

    def queue_update(self, update: dict[str, object]) -> None:
        """An update for getUpdates (polling mode)."""
        self._pending_updates.append(update)
        self._updates_arrived.set()

    # -- what tests assert -------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[BotApiCall]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        return [
            call.params["text"]
            for call in self.calls_to("sendMessage")
            if chat_id is None or call.params["chat_id"] == str(chat_id)
        ]

    # -- the server --------------------------------------------------------------------------------------

    def hold(self, method: str) -> None:
        """The next call of `method` gets no answer (as over a stalled network) until `release` is set, and then
        fails: it never counts as done."""
        self._held_method = method.lower()

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._download)
        return app

    async def _api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await _read_params(request)
        self.calls.append(BotApiCall(method, params))
        if request.content_type == "multipart/form-data":
            for name, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    self.uploads.append(UploadedFile(method, name, value.filename, value.file.read()))
        if method.lower() == self._held_method:
            self._held_method = None
            self.held.set()
            await self.release.wait()
            return _error(500, "gone")
        queued = self._failures.get(method.lower())
        if queued:
            failure = queued.popleft()
            return _error(failure.status, failure.description, failure.retry_after)
        answer = getattr(self, f"_answer_{method.lower()}", None)
        if answer is None:
            return _error(404, "Not Found: method not found")
        result: object = await answer(params)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["file_path"]
        hosted = next((item for item in self._files.values() if item.file_path == path), None)
        if hosted is None:
            return web.Response(status=404)
        if self.download_gate is not None:
            self.download_waiting.set()
            await self.download_gate.wait()
        self.downloads.append(path)
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = len(hosted.content)
        await response.prepare(request)
        for start in range(0, len(hosted.content), DOWNLOAD_CHUNK_BYTES):
            await response.write(hosted.content[start : start + DOWNLOAD_CHUNK_BYTES])
        await response.write_eof()
        return response

    async def _answer_getme(self, params: Mapping[str, str]) -> object:
        return {
            "id": BOT_USER_ID,
            "is_bot": True,
            "first_name": "Plaint",
            "username": BOT_USERNAME,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _answer_sendmessage(self, params: Mapping[str, str]) -> object:
        message: dict[str, object] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "from": {"id": BOT_USER_ID, "is_bot": True, "first_name": "Plaint"},
            "text": params["text"],
        }
        if "reply_markup" in params:
            message["reply_markup"] = json.loads(params["reply_markup"])
        self.sent_messages.append(message)
        return message

    async def _answer_senddocument(self, params: Mapping[str, str]) -> object:
        return self._file_message(params, "document")

    async def _answer_sendphoto(self, params: Mapping[str, str]) -> object:
        return self._file_message(params, "photo")

    def _file_message(self, params: Mapping[str, str], kind: str) -> dict[str, object]:
        upload = self.uploads[-1] if self.uploads else None
        described = {"file_id": f"sent-{len(self.uploads)}", "file_unique_id": f"u-sent-{len(self.uploads)}",
                     "file_size": len(upload.content) if upload else 0}
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "from": {"id": BOT_USER_ID, "is_bot": True, "first_name": "Plaint"},
            kind: [{**described, "width": 1, "height": 1}] if kind == "photo" else {
                **described, "file_name": upload.file_name if upload else "file"},
        }

    async def _answer_editmessagereplymarkup(self, params: Mapping[str, str]) -> object:
        message: dict[str, object] = {
            "message_id": int(params["message_id"]),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "text": "",
        }
        if "reply_markup" in params:
            message["reply_markup"] = json.loads(params["reply_markup"])
        return message

    async def _answer_answercallbackquery(self, params: Mapping[str, str]) -> object:
        return True

    async def _answer_getfile(self, params: Mapping[str, str]) -> object:
        hosted = self._files.get(params["file_id"])
        if hosted is None:
            return _error(400, "Bad Request: invalid file_id")
        return {
            "file_id": hosted.file_id,
            "file_unique_id": hosted.file_unique_id,
            "file_size": len(hosted.content),
            "file_path": hosted.file_path,
        }

    async def _answer_setwebhook(self, params: Mapping[str, str]) -> object:
        self.webhook_url = params["url"]
        self.webhook_secret = params.get("secret_token", "")
        return True

    async def _answer_deletewebhook(self, params: Mapping[str, str]) -> object:
        self.webhook_url = ""
        self.webhook_secret = ""
        return True

    async def _answer_getwebhookinfo(self, params: Mapping[str, str]) -> object:
        info: dict[str, object] = {
            "url": self.webhook_url, "has_custom_certificate": False, "pending_update_count": len(self._pending_updates)
        }
        if self.webhook_last_error:
            info.update(last_error_date=int(time.time()), last_error_message=self.webhook_last_error)
        return info

    async def _answer_getupdates(self, params: Mapping[str, str]) -> object:
        offset = int(params.get("offset", "0"))
        # Confirmed updates (below the offset) are forgotten, as Telegram does.
        self._pending_updates = [item for item in self._pending_updates if _update_id(item) >= offset]
        if not self._pending_updates:
            self._updates_arrived.clear()
            # Long polling, kept short so tests stay fast.
            wait = min(float(params.get("timeout", "0")), 1.0)
            if wait > 0:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._updates_arrived.wait(), wait)
        limit = int(params.get("limit", "100"))
        return self._pending_updates[:limit]


@asynccontextmanager
async def running_fake_bot_api(token: str) -> AsyncIterator[tuple[FakeTelegramBotApi, str]]:
    """Start the fake on a free port of 127.0.0.1; yields it and its base URL (PLAINT_TELEGRAM_API_URL)."""
    fake = FakeTelegramBotApi(token)
    async with serving(fake.make_app()) as base_url:
        yield fake, base_url


async def _read_params(request: web.Request) -> dict[str, str]:
    if request.content_type == "application/json":
        body = await request.json()
        return {key: value if isinstance(value, str) else json.dumps(value) for key, value in body.items()}
    if request.method == "GET":
        return dict(request.query)
    form = await request.post()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _update_id(update: Mapping[str, object]) -> int:
    value = update["update_id"]
    assert isinstance(value, int)
    return value


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, object] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)
