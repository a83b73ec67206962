"""A local fake of the WeChat Official Account API on 127.0.0.1 that records what it receives.

It behaves like the real one where Plaint depends on it: the stable token stays the same until it is
forced or rotated, calls with any other token get errcode 40001, media/get answers the bytes (or JSON with
video_url for videos, JSON errcode 40007 for unknown ids), and failures can be scripted.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class RecordedCall:
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class FakeWeChatApi:
    app_id: str
    app_secret: str
    # media_id -> bytes; videos are served through a video_url like the real API.
    media: dict[str, bytes] = field(default_factory=dict)
    # media_id -> bytes of what Plaint uploaded with media/upload.
    uploaded: dict[str, bytes] = field(default_factory=dict)
    videos: dict[str, bytes] = field(default_factory=dict)
    # Seconds media/get waits before answering (to make the intake miss the 5-second reply).
    media_delay: float = 0.0
    # errcodes that custom/send answers once each, in order, before behaving again.
    send_failures: list[int] = field(default_factory=list)
    media_failures: list[int] = field(default_factory=list)
    token_lifetime: int = 7200
    # While set and not yet opened, custom/send waits on it (after recording the call): a slow send.
    send_gate: asyncio.Event | None = None
    # What reached customers, in arrival order: custom/send texts as accepted; a test playing WeChat adds the
    # passive answers it receives, so the order covers both paths.
    delivered: list[tuple[str, str]] = field(default_factory=list)
    calls: list[RecordedCall] = field(default_factory=list)
    current_token: str = "TOKEN-1"
    _token_serial: int = 1
    _runner: web.AppRunner | None = None
    base_url: str = ""

    # What the tests look at.
    def calls_to(self, path: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.path == path]

    @property
    def sent_texts(self) -> list[tuple[str, str]]:
        """(openid, content) of every custom/send the fake accepted."""
        return [
            (call.body["touser"], call.body["text"]["content"])
            for call in self.calls_to("/cgi-bin/message/custom/send")
            if call.body is not None and call.body.get("accepted") and call.body.get("msgtype") == "text"
        ]

    @property
    def sent_images(self) -> list[tuple[str, bytes]]:
        """(openid, the uploaded image's bytes) of every image custom/send the fake accepted."""
        return [
            (call.body["touser"], self.uploaded.get(call.body["image"]["media_id"], b""))
            for call in self.calls_to("/cgi-bin/message/custom/send")
            if call.body is not None and call.body.get("accepted") and call.body.get("msgtype") == "image"
        ]

    def rotate_token(self) -> None:
        """The token changes behind Plaint's back (as when it expires early or is force-refreshed)."""
        self._token_serial += 1
        self.current_token = f"TOKEN-{self._token_serial}"

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/cgi-bin/stable_token", self._stable_token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        app.router.add_post("/cgi-bin/media/upload", self._media_upload)
        app.router.add_get("/video/{media_id}", self._video)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _record(self, request: web.Request, body: dict[str, Any] | None) -> RecordedCall:
        call = RecordedCall(path=request.path, query=dict(request.query), body=body)
        self.calls.append(call)
        return call

    async def _stable_token(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._record(request, body)
        if body.get("appid") != self.app_id or body.get("secret") != self.app_secret:
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        if body.get("force_refresh") is True:
            self.rotate_token()
        return web.json_response({"access_token": self.current_token, "expires_in": self.token_lifetime})

    async def _custom_send(self, request: web.Request) -> web.Response:
        # The real API wants raw UTF-8: record it and check that no \\u escape arrived instead.
        raw = await request.read()
        body = json.loads(raw)
        body["raw_utf8"] = "\\u" not in raw.decode("utf-8")
        call = self._record(request, body)
        if request.query.get("access_token") != self.current_token:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        if self.send_failures:
            code = self.send_failures.pop(0)
            return web.json_response({"errcode": code, "errmsg": "scripted failure"})
        if self.send_gate is not None:
            await self.send_gate.wait()
        assert call.body is not None
        call.body["accepted"] = True
        self.delivered.append((body["touser"], body["text"]["content"]))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _media_upload(self, request: web.Request) -> web.Response:
        self._record(request, None)
        if request.query.get("access_token") != self.current_token:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        form = await request.post()
        media = form.get("media")
        if not isinstance(media, web.FileField):
            return web.json_response({"errcode": 41005, "errmsg": "media data missing"})
        media_id = f"MEDIA-{len(self.uploaded) + 1}"
        self.uploaded[media_id] = media.file.read()
        return web.json_response({"type": request.query.get("type", ""), "media_id": media_id, "created_at": 0})

    async def _media_get(self, request: web.Request) -> web.StreamResponse:
        self._record(request, None)
        if request.query.get("access_token") != self.current_token:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        if self.media_failures:
            code = self.media_failures.pop(0)
            return web.json_response({"errcode": code, "errmsg": "scripted failure"})
        media_id = request.query.get("media_id", "")
        if media_id in self.videos:
            return web.json_response({"video_url": f"{self.base_url}/video/{media_id}"})
        if media_id not in self.media:
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        if self.media_delay:
            await asyncio.sleep(self.media_delay)
        return web.Response(
            body=self.media[media_id],
            content_type="image/jpeg",
            headers={"Content-Disposition": f'attachment; filename="{media_id}.jpg"'},
        )

    async def _video(self, request: web.Request) -> web.Response:
        self._record(request, None)
        return web.Response(body=self.videos[request.match_info["media_id"]], content_type="video/mp4")
