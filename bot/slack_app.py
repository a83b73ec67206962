"""One Slack app serves two rooms: the Slack customer channel (bot/channels/slack.py) and the agent desk
(bot/desk/slack_*.py). They share one Bolt app, one events endpoint (POST /slack/events, or Socket Mode), one
Web API client and one translation of Slack's errors into the outbox's delivery errors. Neutral ground:
both rooms import this module, neither imports the other.

Bolt verifies the signature (401 otherwise) and acknowledges before a listener works
(process_before_response=False), so Slack's 3-second limit never depends on our database. Customers' messages
and presses are the exception: `on_receipt` stores them (one insert) before the answer or the Socket Mode
acknowledgement, so a crash after it loses nothing."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

import aiohttp
from aiohttp import web

from bot.config import Settings
from bot.delivery import PermanentDeliveryError, RecipientUnreachable, RetryLater
from bot.messages import ByteStreamOpener
from bot.slack_payload import read_slack_body, slack_document_problem
from bot.webhooks import RunningState, webhook_boundary

if TYPE_CHECKING:
    from slack_bolt.app.async_app import AsyncApp
    from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest

# slack_sdk and slack_bolt (a fifth of a second of imports) are imported where they are used, which is only
# when Slack is on: a server without it does not pay for them at start-up.

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Slack keeps errors that a person must fix (reinstall, invite the bot) apart from bad requests: those wait
# in the outbox until fixed instead of being thrown away.
_FIXABLE_ERRORS = {"not_in_channel", "invalid_auth", "token_revoked", "account_inactive", "not_authed"}
_UNREACHABLE_ERRORS = {"user_not_found", "cannot_dm_bot", "user_disabled", "channel_not_found", "is_archived"}
_OUTAGE_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}


@contextlib.asynccontextmanager
async def translate_slack_errors() -> AsyncIterator[None]:
    """Slack API failures as the outbox's delivery errors: 429 and 5xx wait, bad requests die."""
    from slack_sdk.errors import SlackApiError

    try:
        yield
    except SlackApiError as error:
        status = error.response.status_code
        code = str(error.response.get("error", "")) if isinstance(error.response.data, dict) else ""
        if status == 429:
            retry_after = error.response.headers.get("Retry-After") or error.response.headers.get("retry-after")
            raise RetryLater("slack rate limited", float(retry_after) if retry_after else 30.0) from error
        if status >= 500 or code in _OUTAGE_ERRORS:
            raise RetryLater(f"slack unavailable ({status} {code})") from error
        if code in _FIXABLE_ERRORS:
            raise RetryLater(f"slack refused: {code} (needs an admin)", retry_after=300) from error
        if code in _UNREACHABLE_ERRORS:
            raise RecipientUnreachable(code) from error
        raise PermanentDeliveryError(f"slack refused: {status} {code}") from error
    except (aiohttp.ClientError, TimeoutError) as error:
        raise RetryLater(f"slack unreachable: {error!r}") from error


# Slack file downloads move in pieces of this size: never a whole file in memory.
_DOWNLOAD_CHUNK_BYTES = 64 * 1024


class SlackFileDownloader:
    """Opens a Slack file share with the bot token. The token is only ever sent to Slack's own hosts (or the
    configured API host), never to a URL someone put in a payload."""

    def __init__(self, token: str, api_url: str) -> None:
        self._token = token
        api_host = urlparse(api_url).hostname or ""
        self._trusted_hosts = {"files.slack.com", "slack.com", api_host}

    def opener_for(self, url: str) -> ByteStreamOpener:
        return lambda: self._download(url)

    async def _download(self, url: str) -> AsyncIterator[bytes]:
        host = urlparse(url).hostname or ""
        if host not in self._trusted_hosts:
            raise PermissionError(f"refusing to send the Slack token to {host}")
        headers = {"Authorization": f"Bearer {self._token}"}
        async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
            # Slack answers a sign-in page (200, HTML) when the token lacks files:read.
            if response.status != 200 or response.content_type == "text/html":
                raise PermissionError(f"slack file download refused ({response.status})")
            async for chunk in response.content.iter_chunked(_DOWNLOAD_CHUNK_BYTES):
                yield chunk


# Offered a Slack document (an event envelope or an interaction payload) before Slack is answered: True when it
# took it (stored for a later turn), False to let Bolt dispatch it.
MessageReceipt = Callable[[dict[str, Any]], Awaitable[bool]]


@dataclass(frozen=True)
class _Serving:
    bolt: AsyncApp
    on_receipt: MessageReceipt | None


def _offered_first(
    on_receipt: MessageReceipt, bolt_listener: Callable[[Any, SocketModeRequest], Awaitable[None]]
) -> Callable[[AsyncBaseSocketModeClient, SocketModeRequest], Awaitable[None]]:
    """A Socket Mode request listener: each request is offered to `on_receipt` first and acknowledged only once
    it was stored; what it does not take goes to Bolt. Unacknowledged, Slack sends the request again."""
    from slack_sdk.socket_mode.response import SocketModeResponse

    async def listener(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        if request.type not in ("events_api", "interactive"):
            await bolt_listener(client, request)  # slash commands: nothing a customer sends, Bolt's as before
            return
        problem = slack_document_problem(request.payload, interaction=request.type == "interactive")
        if problem is not None:
            log.warning("slack: socket mode request dropped, not a Slack request: %s", problem)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
            return
        try:
            taken = await on_receipt(request.payload)
        except Exception as error:  # the request stays unacknowledged: Slack sends it again
            log.warning("slack: socket mode request not stored (%s); left unacknowledged for Slack to resend",
                        type(error).__name__)
            return
        if taken:
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
            return
        await bolt_listener(client, request)

    return listener


class SlackListenerSet(Protocol):
    """One room's Bolt listeners. Slack sends every message event to one listener, so messages are offered
    to each set in turn (`on_message` answers True when it took the message) instead of registered."""

    def register(self, bolt: AsyncApp) -> None: ...

    async def on_message(self, event: dict[str, Any]) -> bool: ...


class SlackApp:
    """The Slack app as the server sees it: the events route at build time; at run time a Bolt app with the
    listeners of every room that uses Slack, reached over HTTP or Socket Mode."""

    def __init__(self, settings: Settings) -> None:
        from slack_sdk.web.async_client import AsyncWebClient

        self._settings = settings
        self.token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
        self.api_url = settings.slack_api_url
        self.client = AsyncWebClient(token=self.token, base_url=settings.slack_api_url)
        self._serving: RunningState[_Serving] = RunningState()

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackApp | None:
        """On when a bot token and a way to receive events (signing secret or app token) are configured."""
        if settings.slack_bot_token is None:
            return None
        if settings.slack_signing_secret is None and settings.slack_app_token is None:
            return None
        if not settings.public_url.strip():
            # Evidence links in case messages would be relative: they do not open from Slack, and no image preview.
            log.warning(
                "PLAINT_PUBLIC_URL is not set while Slack is on: evidence links in case messages will not open "
                "from Slack and images get no preview. Set PLAINT_PUBLIC_URL to the https address agents reach "
                "Plaint at."
            )
        return cls(settings)

    def routes(self) -> list[web.RouteDef]:
        # Without a signing secret nothing over HTTP can be verified: events come by Socket Mode only.
        if self._settings.slack_signing_secret is None:
            return []
        return [web.post(EVENTS_PATH, webhook_boundary("slack", self.events))]

    async def events(self, request: web.Request) -> web.StreamResponse:
        from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
        from slack_sdk.signature import SignatureVerifier

        serving = self._serving.get()
        body = await request.read()
        # Only a signed body is looked at; Bolt checks the signature again, the same way, before dispatching.
        secret = self._settings.slack_signing_secret
        try:
            signed = secret is not None and SignatureVerifier(secret.get_secret_value()).is_valid(
                body, request.headers.get("X-Slack-Request-Timestamp", ""), request.headers.get("X-Slack-Signature", "")
            )
        except (UnicodeDecodeError, ValueError):
            signed = False
        if not signed:
            raise web.HTTPUnauthorized(text="invalid Slack signature")
        read = read_slack_body(body, request.content_type)
        if read.problem is not None:
            log.warning("slack: request refused, not a Slack request: %s", read.problem)
            raise web.HTTPBadRequest(text=f"not a Slack request: {read.problem}")
        if read.document is not None and serving.on_receipt is not None and await serving.on_receipt(read.document):
            # Stored (or nobody's turn) before Slack has its answer: a crash from here on loses nothing.
            return web.Response(status=200)
        try:
            # Bolt parses the body and reads ids out of it while building its request, before the signature is
            # checked; a body of another shape fails there with whatever error its lookups raise.
            bolt_request = await to_bolt_request(request)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise web.HTTPBadRequest(text="body is not a Slack request (JSON or a form)") from None
        return await to_aiohttp_response(await serving.bolt.async_dispatch(bolt_request))

    @contextlib.asynccontextmanager
    async def serving(
        self, listener_sets: Sequence[SlackListenerSet], on_receipt: MessageReceipt | None = None
    ) -> AsyncIterator[None]:
        """Entered last, once everything the listeners call exists: only then do events get in. `on_receipt`:
        offered each request's document at the events endpoint before Slack is answered (it stores a customer's
        message or press and answers True, or answers False and Bolt dispatches the request to the listener sets
        as usual); it must be quick."""
        from slack_bolt.app.async_app import AsyncApp

        settings = self._settings
        signing_secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
        bolt = AsyncApp(
            client=self.client,
            signing_secret=signing_secret or None,
            process_before_response=False,
            # Socket Mode alone needs no signing secret; with one, every HTTP request is verified.
            request_verification_enabled=bool(signing_secret),
        )
        for listeners in listener_sets:
            listeners.register(bolt)

        async def on_message(event: dict[str, Any]) -> None:
            for listeners in listener_sets:
                if await listeners.on_message(event):
                    return

        bolt.event("message")(on_message)
        async with contextlib.AsyncExitStack() as stack:
            if settings.slack_app_token is not None:
                from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

                socket = AsyncSocketModeHandler(bolt, settings.slack_app_token.get_secret_value())
                if on_receipt is not None:
                    # In place of Bolt's listener, which acknowledges before its listeners run: what on_receipt
                    # takes is stored before the acknowledgement, as over HTTP.
                    socket.client.socket_mode_request_listeners[:] = [_offered_first(on_receipt, socket.handle)]
                await socket.connect_async()  # type: ignore[no-untyped-call]
                stack.push_async_callback(socket.close_async)
            with self._serving.holding(_Serving(bolt, on_receipt)):
                yield
