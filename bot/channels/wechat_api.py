"""The few WeChat Official Account API calls Plaint makes: stable access token, customer-service text
message, temporary media download. aiohttp client; the token lives in the shared database row."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import aiohttp

from bot.channels.base import response_chunks
from bot.errors import PlaintError

log = logging.getLogger(__name__)

# errcodes meaning "this access token is not valid (any more)": refresh once and retry.
INVALID_TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
# WeChat's own "system busy", also used for HTTP 5xx answers.
SYSTEM_BUSY = -1
# Not an errcode of WeChat's: the answer was not the API's JSON at all (a proxy page, a truncated body).
UNEXPECTED_ANSWER = -2
# A JSON error answer from media/get is tiny; never read more than this as JSON.
_MAX_JSON_ANSWER = 64 * 1024


class WeChatApiError(PlaintError):
    """WeChat answered with a non-zero errcode (or something that is not its API)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class CachedToken(Protocol):
    @property
    def value(self) -> str: ...

    @property
    def expires_at(self) -> datetime: ...


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: datetime


class TokenCache(Protocol):
    """The access token shared by every worker (the composition root hands the database's store)."""

    async def load(self, name: str) -> CachedToken | None: ...

    async def save(self, name: str, token: AccessToken) -> None: ...


class WeChatApiClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        app_id: str,
        app_secret: str,
        tokens: TokenCache,
        refresh_margin: timedelta = timedelta(minutes=5),
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._app_id = app_id
        self._app_secret = app_secret
        self._tokens = tokens
        self._refresh_margin = refresh_margin
        self._token_name = f"wechat:{app_id}"

    async def access_token(self) -> str:
        stored = await self._tokens.load(self._token_name)
        if stored is not None and stored.expires_at - self._refresh_margin > datetime.now(UTC):
            return stored.value
        return await self._fetch_stable_token(force_refresh=False)

    async def _replace_token(self, rejected: str) -> str:
        """A fresh token after WeChat rejected `rejected`: another worker's newer token when there is one,
        else the stable token, forcing a new one only if WeChat hands back the same rejected token."""
        stored = await self._tokens.load(self._token_name)
        if stored is not None and stored.value != rejected and stored.expires_at > datetime.now(UTC):
            return stored.value
        fetched = await self._fetch_stable_token(force_refresh=False)
        if fetched != rejected:
            return fetched
        return await self._fetch_stable_token(force_refresh=True)

    async def _fetch_stable_token(self, force_refresh: bool) -> str:
        body = {
            "grant_type": "client_credential",
            "appid": self._app_id,
            "secret": self._app_secret,
            "force_refresh": force_refresh,
        }
        async with self._session.post(f"{self._base_url}/cgi-bin/stable_token", json=body) as response:
            answer = await _json_answer(response)
        token = answer.get("access_token")
        expires_in = answer.get("expires_in")
        if not isinstance(token, str) or not isinstance(expires_in, int):
            raise WeChatApiError(UNEXPECTED_ANSWER, "stable_token answer has no access_token/expires_in")
        expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
        await self._tokens.save(self._token_name, AccessToken(value=token, expires_at=expires_at))
        log.info("wechat access token refreshed (force=%s), valid for %s s", force_refresh, expires_in)
        return token

    async def send_text(self, open_id: str, content: str) -> None:
        """Customer-service text message (allowed within 48 hours of the customer's last message)."""
        await self._send_custom({"touser": open_id, "msgtype": "text", "text": {"content": content}})

    async def send_image(self, open_id: str, media_id: str) -> None:
        """Customer-service image message, of an image uploaded with `upload_media` (within the same window)."""
        await self._send_custom({"touser": open_id, "msgtype": "image", "image": {"media_id": media_id}})

    async def _send_custom(self, payload: dict[str, object]) -> None:
        # ensure_ascii=False: WeChat shows \\uXXXX escapes literally in some message APIs.
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        token = await self.access_token()
        for attempt in range(2):
            async with self._session.post(
                f"{self._base_url}/cgi-bin/message/custom/send",
                params={"access_token": token},
                data=data,
                headers={"Content-Type": "application/json; charset=utf-8"},
            ) as response:
                try:
                    await _json_answer(response)
                    return
                except WeChatApiError as error:
                    if error.errcode not in INVALID_TOKEN_ERRCODES or attempt:
                        raise
            token = await self._replace_token(token)

    async def upload_media(self, kind: str, file_name: str, content: bytes, media_type: str) -> str:
        """A temporary media item (three days), for a customer-service message; its media_id."""
        token = await self.access_token()
        for attempt in range(2):
            form = aiohttp.FormData()
            form.add_field("media", content, filename=file_name, content_type=media_type)
            async with self._session.post(
                f"{self._base_url}/cgi-bin/media/upload", params={"access_token": token, "type": kind}, data=form
            ) as response:
                try:
                    answer = await _json_answer(response)
                except WeChatApiError as error:
                    if error.errcode not in INVALID_TOKEN_ERRCODES or attempt:
                        raise
                    token = await self._replace_token(token)
                    continue
            media_id = answer.get("media_id")
            if not isinstance(media_id, str) or not media_id:
                raise WeChatApiError(UNEXPECTED_ANSWER, "media/upload answered no media_id")
            return media_id
        raise WeChatApiError(UNEXPECTED_ANSWER, "media/upload kept refusing the access token")

    async def stream_media(self, media_id: str) -> AsyncIterator[bytes]:
        """The bytes of a temporary media item, chunk by chunk (videos are fetched from their video_url)."""
        token = await self.access_token()
        for attempt in range(2):
            async with self._session.get(
                f"{self._base_url}/cgi-bin/media/get", params={"access_token": token, "media_id": media_id}
            ) as response:
                if not _is_json(response):
                    response.raise_for_status()
                    async for chunk in response_chunks(response):
                        yield chunk
                    return
                try:
                    answer = await _json_answer(response)
                except WeChatApiError as error:
                    if error.errcode not in INVALID_TOKEN_ERRCODES or attempt:
                        raise
                    answer = None
            if answer is None:
                token = await self._replace_token(token)
                continue
            video_url = answer.get("video_url")
            if not isinstance(video_url, str):
                raise WeChatApiError(UNEXPECTED_ANSWER, "media/get answered JSON without video_url")
            async with self._session.get(video_url) as video:
                video.raise_for_status()
                async for chunk in response_chunks(video):
                    yield chunk
            return


def _is_json(response: aiohttp.ClientResponse) -> bool:
    # WeChat answers errors as application/json or text/plain; media comes as image/*, audio/*, etc.
    return response.content_type in ("application/json", "text/plain")


async def _json_answer(response: aiohttp.ClientResponse) -> dict[str, object]:
    if response.status >= 500:
        raise WeChatApiError(SYSTEM_BUSY, f"HTTP {response.status}")
    raw = await response.content.read(_MAX_JSON_ANSWER)
    try:
        answer = json.loads(raw)
    except ValueError as error:
        raise WeChatApiError(UNEXPECTED_ANSWER, f"HTTP {response.status}, not JSON") from error
    if not isinstance(answer, dict):
        raise WeChatApiError(UNEXPECTED_ANSWER, "answer is not a JSON object")
    errcode = answer.get("errcode", 0)
    if errcode:
        raise WeChatApiError(
            int(errcode) if isinstance(errcode, int) else UNEXPECTED_ANSWER, str(answer.get("errmsg", ""))
        )
    return answer
