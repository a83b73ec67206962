"""A fake Slack Web API on 127.0.0.1 for the real slack_sdk / slack-bolt clients: answers the methods the
desk and the Slack channel use, records every call, serves uploaded files behind the bot token, and can be
told to fail (500) or rate-limit (429 + Retry-After) for a number of calls."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web
from slack_sdk.signature import SignatureVerifier

BOT_USER_ID = "UBOTPLAINT"
BOT_ID = "BPLAINT"
TEAM_ID = "T0PLAINT"


@dataclass(frozen=True)
class RecordedCall:
    method: str
    params: dict[str, Any]
    authorization: str | None
    # The HTTP status the fake answered: 200 for a call that worked (or was refused with ok=false).
    status: int = 200


@dataclass
class _Failure:
    remaining: int
    status: int
    retry_after: int | None


@dataclass(frozen=True)
class FakeFile:
    id: str
    name: str
    mimetype: str
    content: bytes
    filetype: str = "binary"


@dataclass
class FakeSlackApi:
    token: str = "xoxb-test-token"
    # Socket Mode: the app-level token that may open a connection, the frames the app acknowledged.
    app_token: str = "xapp-test-token"
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    # Called with each acknowledgement as it arrives, before it is recorded (to look at what the app had stored).
    on_socket_ack: Callable[[dict[str, Any]], Awaitable[None]] | None = None
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    # Seconds a method takes to answer (a slow Slack), by method name.
    delays: dict[str, float] = field(default_factory=dict)
    calls: list[RecordedCall] = field(default_factory=list)
    file_downloads: list[tuple[str, str | None]] = field(default_factory=list)
    files: dict[str, FakeFile] = field(default_factory=dict)
    _failures: list[_Failure] = field(default_factory=list)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    root_url: str = ""
    # Channels the bot is a member of (users.conversations).
    member_channels: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        """What to give AsyncWebClient(base_url=...)."""
        return f"{self.root_url}/api/"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # slack_sdk reads some methods with GET
        app.router.add_get("/files/{file_id}/{name}", self._download)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.root_url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        for socket in self._sockets:
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- test controls -------------------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 500, retry_after: int | None = None) -> None:
        """The next `count` Web API calls (auth.test excepted) answer `status` instead of working."""
        self._failures.append(_Failure(remaining=count, status=status, retry_after=retry_after))

    def add_file(self, name: str, mimetype: str, content: bytes, filetype: str = "binary") -> dict[str, Any]:
        """Registers a file and returns its Slack file object, as found in a file_share message event."""
        file_id = f"F{len(self.files) + 1:08d}"
        fake = FakeFile(id=file_id, name=name, mimetype=mimetype, content=content, filetype=filetype)
        self.files[file_id] = fake
        return self._file_object(fake)

    async def push_socket_event(self, body: dict[str, Any], envelope_id: str) -> None:
        """Sends an Events API body over every open Socket Mode connection, as Slack does."""
        await self.push_socket_request("events_api", body, envelope_id)

    async def push_socket_request(self, kind: str, payload: dict[str, Any], envelope_id: str) -> None:
        """Sends one Socket Mode request ("events_api", "interactive", "slash_commands") over every connection."""
        frame = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                 "accepts_response_payload": kind != "events_api"}
        for socket in self._sockets:
            await socket.send_json(frame)

    @property
    def socket_connected(self) -> bool:
        return any(not socket.closed for socket in self._sockets)

    def calls_to(self, method: str, channel: str | None = None) -> list[RecordedCall]:
        """Calls that worked (HTTP 200), optionally only those for one channel."""
        return [
            call
            for call in self.calls
            if call.method == method
            and call.status == 200
            and (channel is None or call.params.get("channel") == channel)
        ]

    # --- the server ----------------------------------------------------------------------------------

    def _file_object(self, fake: FakeFile) -> dict[str, Any]:
        url = f"{self.root_url}/files/{fake.id}/{fake.name}"
        return {
            "id": fake.id,
            "name": fake.name,
            "title": fake.name,
            "mimetype": fake.mimetype,
            "filetype": fake.filetype,
            "size": len(fake.content),
            "url_private": url,
            "url_private_download": url,
        }

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        if request.method == "GET":
            return dict(request.query)
        if request.content_type == "application/json":
            loaded = await request.json()
            return dict(loaded) if isinstance(loaded, dict) else {}
        form = await request.post()
        # slack_sdk sends some methods' arguments (reactions.add, users.info) in the query string of a POST.
        params: dict[str, Any] = dict(request.query)
        for key, value in form.items():
            text = value if isinstance(value, str) else ""
            # slack_sdk form-encodes lists and dicts as JSON strings
            if key in {"blocks", "view", "attachments"}:
                try:
                    params[key] = json.loads(text)
                    continue
                except ValueError:
                    pass
            params[key] = text
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._read_params(request)
        authorization = request.headers.get("Authorization")
        if method in self.delays:
            await asyncio.sleep(self.delays[method])
        response = self._respond(method, params, authorization)
        self.calls.append(RecordedCall(method, params, authorization, response.status))
        return response

    def _respond(self, method: str, params: dict[str, Any], authorization: str | None) -> web.Response:
        if method == "apps.connections.open":
            if authorization != f"Bearer {self.app_token}":
                return web.json_response({"ok": False, "error": "invalid_auth"})
            return web.json_response({"ok": True, "url": self.root_url.replace("http", "ws", 1) + "/socket"})
        if authorization != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method != "auth.test" and self._failures:
            failure = self._failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.pop(0)
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            if failure.status == 429:
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers=headers)
            return web.Response(status=failure.status, text="upstream trouble", headers=headers)
        return web.json_response(self._answer(method, params))

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://plaint-test.slack.com/",
                "team": "Plaint Test",
                "team_id": TEAM_ID,
                "user": "plaint",
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
            }
        if method == "chat.postMessage":
            ts = f"{int(time.time())}.{next(self._ts):06d}"
            message: dict[str, Any] = {
                "type": "message",
                "text": params.get("text", ""),
                "ts": ts,
                "bot_id": BOT_ID,
            }
            if "thread_ts" in params:
                message["thread_ts"] = params["thread_ts"]
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts"), "text": ""}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{int(time.time())}.{next(self._ts):06d}"}
        if method == "views.open":
            requested = params.get("view")
            view: dict[str, Any] = requested if isinstance(requested, dict) else {}
            return {"ok": True, "view": {"id": f"V{next(self._ts):08d}", **view}}
        if method == "files.info":
            fake = self.files.get(str(params.get("file")))
            if fake is None:
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True, "file": self._file_object(fake)}
        if method == "conversations.info":
            channel = str(params.get("channel"))
            return {"ok": True, "channel": {"id": channel, "is_im": channel.startswith("D")}}
        if method == "reactions.add":
            return {"ok": True}
        if method == "users.info":
            user_id = str(params.get("user"))
            return {"ok": True, "user": {"id": user_id, "profile": {"display_name": f"Agent {user_id[-4:]}"}}}
        if method == "chat.getPermalink":
            channel, ts = str(params.get("channel")), str(params.get("message_ts"))
            return {"ok": True, "channel": channel,
                    "permalink": f"https://plaint-test.slack.com/archives/{channel}/p{ts.replace('.', '')}"}
        if method == "users.conversations":
            return {"ok": True, "channels": [{"id": channel, "is_member": True} for channel in self.member_channels],
                    "response_metadata": {"next_cursor": ""}}
        return {"ok": False, "error": "unknown_method"}

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0PLAINT"}})
        async for frame in socket:
            if frame.type == WSMsgType.TEXT:
                ack = json.loads(frame.data)
                if self.on_socket_ack is not None:
                    await self.on_socket_ack(ack)
                self.socket_acks.append(ack)
        return socket

    async def _download(self, request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization")
        self.file_downloads.append((request.match_info["file_id"], authorization))
        fake = self.files.get(request.match_info["file_id"])
        if fake is None or authorization != f"Bearer {self.token}":
            # Slack answers an HTML login page rather than an error when the token is missing
            return web.Response(status=200, text="<html>sign in</html>", content_type="text/html")
        return web.Response(body=fake.content, content_type=fake.mimetype)


def event_envelope(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    """The Events API body around one event, as sent over HTTP or Socket Mode."""
    return {
        "token": "unused",
        "team_id": TEAM_ID,
        "api_app_id": "A0PLAINT",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": event,
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
    }


@dataclass(frozen=True)
class SignedRequest:
    body: bytes
    headers: dict[str, str]


class SlackRequestSigner:
    """Builds requests the way Slack sends them, signed with slack_sdk's own signature code."""

    def __init__(self, signing_secret: str) -> None:
        self._verifier = SignatureVerifier(signing_secret)

    def sign(self, body: bytes, content_type: str, timestamp: int | None = None) -> SignedRequest:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        signature = self._verifier.generate_signature(timestamp=stamp, body=body)
        assert signature is not None
        return SignedRequest(
            body=body,
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": signature,
            },
        )

    def event(self, event: dict[str, Any], event_id: str, retry_num: int | None = None) -> SignedRequest:
        envelope = event_envelope(event, event_id)
        signed = self.sign(json.dumps(envelope).encode(), "application/json")
        if retry_num is not None:
            signed.headers["X-Slack-Retry-Num"] = str(retry_num)
            signed.headers["X-Slack-Retry-Reason"] = "http_timeout"
        return signed

    def interaction(self, payload: dict[str, Any]) -> SignedRequest:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.sign(body, "application/x-www-form-urlencoded")

    def command(self, command: str, text: str, user_id: str, channel_id: str) -> SignedRequest:
        body = urlencode(
            {
                "command": command,
                "text": text,
                "user_id": user_id,
                "user_name": user_id.lower(),
                "channel_id": channel_id,
                "team_id": TEAM_ID,
                "trigger_id": f"trigger-{time.time_ns()}",
                "response_url": "http://127.0.0.1:9/unused",
            }
        ).encode()
        return self.sign(body, "application/x-www-form-urlencoded")
