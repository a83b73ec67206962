"""`plaint doctor`: every check an operator would otherwise learn about from a customer, each with a harmless
call (getMe, getWebhookInfo, auth.test, users.conversations, the WeChat stable token, GET /healthz on the
public URL) and, for each problem, what to do about it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from telegram.error import TelegramError

from bot.channels.telegram_server import WEBHOOK_PATH, new_bot
from bot.channels.wechat_api import AccessToken, CachedToken, WeChatApiClient, WeChatApiError
from bot.config import Settings
from bot.desk.routing import RoutingConfigError, load_routing
from bot.operations.readiness import HEARTBEAT_MAX_AGE
from storage.database import is_postgres, open_database
from storage.inbox import TortoiseInbox
from storage.operations import TortoiseOutboxDepth, heartbeats, pending_migrations, ping_database

HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str
    fix: str = ""


class _NoTokenCache:
    """The doctor always asks WeChat, so that the credentials themselves are what is checked."""

    async def load(self, name: str) -> CachedToken | None:
        return None

    async def save(self, name: str, token: AccessToken) -> None:
        return None


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter is not None else ""


class Doctor:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def examine(self) -> list[Finding]:
        findings = self._configuration()
        async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
            checks: list[Callable[[], Awaitable[list[Finding]]]] = [self._database]
            if _secret(self._settings.telegram_token):
                checks.append(self._telegram)
            if _secret(self._settings.slack_bot_token):
                checks.append(self._slack)
            if self._wechat_on():
                checks.append(lambda: self._wechat(http))
            checks.append(lambda: self._public_url(http))
            for check in checks:
                try:
                    findings.extend(await check())
                except Exception as error:  # one broken check must not hide the others' answers
                    findings.append(Finding("doctor", False, f"a check failed: {type(error).__name__}: {error}",
                                            "report this with the output of `plaint doctor`"))
        return findings

    def _wechat_on(self) -> bool:
        s = self._settings
        return bool(_secret(s.wechat_token) and s.wechat_app_id and _secret(s.wechat_app_secret))

    def _webhook_channels(self) -> list[str]:
        s = self._settings
        channels = []
        if _secret(s.telegram_token) and s.telegram_mode == "webhook":
            channels.append("telegram")
        if _secret(s.slack_bot_token) and s.slack_app_token is None:
            channels.append("slack")
        if self._wechat_on():
            channels.append("wechat")
        return channels

    def _configuration(self) -> list[Finding]:
        s = self._settings
        on = [name for name, value in (("telegram", s.telegram_token), ("slack", s.slack_bot_token)) if _secret(value)]
        if self._wechat_on():
            on.append("wechat")
        findings = [Finding("configuration", True, "channels on: " + ", ".join(["web", *on]))]
        if is_postgres(s.effective_database_url) and not _secret(s.evidence_secret):
            findings.append(Finding(
                "evidence links", False, "PLAINT_EVIDENCE_SECRET is not set on a PostgreSQL deployment",
                "set the same PLAINT_EVIDENCE_SECRET on every worker, or links signed by one fail on another",
            ))
        if "telegram" in self._webhook_channels() and s.telegram_webhook_secret is None:
            findings.append(Finding(
                "telegram secret", False, "PLAINT_TELEGRAM_WEBHOOK_SECRET is not set",
                "set it (1-256 of A-Z a-z 0-9 _ -), then run `plaint telegram set-webhook URL` again",
            ))
        return findings

    async def _database(self) -> list[Finding]:
        url = self._settings.effective_database_url
        try:
            async with open_database(url):
                await ping_database()
                pending = await pending_migrations()
                workers = None if pending else await _workers()
        except Exception as error:
            return [Finding("database", False, f"cannot connect: {type(error).__name__}: {error}",
                            "check PLAINT_DATABASE_URL and that the database server is up")]
        findings = [Finding("database", True, "reachable (" + url.split(":", 1)[0] + ")")]
        if pending:
            findings.append(Finding("migrations", False, "not applied: " + ", ".join(pending),
                                    "run `plaint db migrate` (once, before starting the new version)"))
        else:
            findings.append(Finding("migrations", True, "current"))
        if workers is not None:
            findings.append(workers)
        return findings

    async def _telegram(self) -> list[Finding]:
        s = self._settings
        try:
            async with new_bot(s) as bot:  # initialising the bot is the getMe call
                me = bot.bot
                info = await bot.get_webhook_info()
        except TelegramError as error:
            return [Finding("telegram", False, f"getMe failed: {error}",
                            "check PLAINT_TELEGRAM_TOKEN (from @BotFather) and PLAINT_TELEGRAM_API_URL")]
        findings = [Finding("telegram", True, f"token works: @{me.username}")]
        expected = f"{s.public_url.rstrip('/')}{WEBHOOK_PATH}" if s.public_url else ""
        if s.telegram_mode == "polling":
            if info.url:
                findings.append(Finding("telegram webhook", False, f"a webhook is set ({info.url}) in polling mode",
                                        "run `plaint telegram delete-webhook`"))
            else:
                findings.append(Finding("telegram webhook", True, "none (polling mode)"))
            return findings
        if not info.url:
            findings.append(Finding("telegram webhook", False, "no webhook registered: Telegram sends nothing",
                                    f"run `plaint telegram set-webhook {expected or 'https://HOST' + WEBHOOK_PATH}`"))
        elif expected and info.url != expected:
            findings.append(Finding("telegram webhook", False, f"registered {info.url}, expected {expected}",
                                    f"run `plaint telegram set-webhook {expected}`"))
        elif info.last_error_message:
            findings.append(Finding("telegram webhook", False,
                                    f"Telegram's last delivery failed: {info.last_error_message}",
                                    "check the public URL, TLS certificate and proxy (see README, Deployment)"))
        else:
            findings.append(Finding("telegram webhook", True,
                                    f"{info.url} ({info.pending_update_count} updates waiting)"))
        return findings

    async def _slack(self) -> list[Finding]:
        s = self._settings
        client = AsyncWebClient(token=_secret(s.slack_bot_token), base_url=s.slack_api_url)
        try:
            identity = await client.auth_test()
            member_of: set[str] = set()
            cursor = None
            while True:
                page = await client.users_conversations(
                    types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor
                )
                channels: list[dict[str, object]] = page.get("channels", [])
                member_of.update(str(channel["id"]) for channel in channels)
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except SlackApiError as error:
            fix = "check PLAINT_SLACK_BOT_TOKEN (xoxb-...) and the app's scopes (channels:read, groups:read)"
            answer = error.response.data if isinstance(error.response.data, dict) else {}
            reason = answer.get("error") or f"HTTP {error.response.status_code}"
            return [Finding("slack", False, f"Slack refused: {reason}", fix)]
        except aiohttp.ClientError as error:
            fix = "check PLAINT_SLACK_API_URL and the network"
            return [Finding("slack", False, f"Slack unreachable: {error}", fix)]
        findings = [Finding("slack", True, f"token works: {identity.get('user')} in {identity.get('team')}")]
        try:
            routing = load_routing(s.slack_routing_file)
        except (OSError, RoutingConfigError) as error:
            findings.append(Finding("routing", False, str(error), "fix the file; `plaint routing validate` explains"))
            return findings
        missing = [team for team in routing.teams if team.slack_channel not in member_of]
        for team in missing:
            findings.append(Finding(
                f"routing team {team.name}", False, f"the bot is not in channel {team.slack_channel}",
                f"invite the app to {team.slack_channel} (`/invite @{identity.get('user')}` in that channel)",
            ))
        if not missing:
            findings.append(Finding("routing", True, f"the bot is in all {len(routing.teams)} team channels"))
        return findings

    async def _wechat(self, http: aiohttp.ClientSession) -> list[Finding]:
        s = self._settings
        client = WeChatApiClient(
            http, s.wechat_api_url, s.wechat_app_id or "", _secret(s.wechat_app_secret), _NoTokenCache()
        )
        try:
            await client.access_token()
        except WeChatApiError as error:
            return [Finding("wechat", False, f"no access token: {error}",
                            "check PLAINT_WECHAT_APP_ID / PLAINT_WECHAT_APP_SECRET and this server's IP in the "
                            "Official Account's IP whitelist")]
        except aiohttp.ClientError as error:
            return [Finding("wechat", False, f"WeChat unreachable: {error}", "check PLAINT_WECHAT_API_URL")]
        return [Finding("wechat", True, "app id and secret give an access token")]

    async def _public_url(self, http: aiohttp.ClientSession) -> list[Finding]:
        url = self._settings.public_url.rstrip("/")
        needs = self._webhook_channels()
        if not url:
            if needs:
                return [Finding("public url", False, "PLAINT_PUBLIC_URL is not set; needed by " + ", ".join(needs),
                                "set it to the https:// address the platforms reach this server at")]
            return [Finding("public url", True, "not set (no channel needs it)")]
        parts = urlsplit(url)
        findings = []
        if parts.scheme != "https":
            findings.append(Finding("public url", False, f"{url} is not https",
                                    "Telegram, Slack and WeChat deliver only to https:// (terminate TLS in nginx)"))
        try:
            async with http.get(f"{url}/healthz") as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            findings.append(Finding("public url", False, f"GET {url}/healthz failed: {type(error).__name__}",
                                    "check DNS, the reverse proxy and the firewall (README, Deployment)"))
            return findings
        if status != 200:
            findings.append(Finding("public url", False, f"GET {url}/healthz answered {status}",
                                    "the proxy must pass /healthz and the webhook paths to plaint serve"))
        elif not findings:
            findings.append(Finding("public url", True, f"{url}/healthz answers"))
        return findings


def render(findings: list[Finding]) -> str:
    width = max(len(finding.check) for finding in findings)
    lines = [f"{'CHECK':<{width}}  STATUS   DETAIL"]
    for finding in findings:
        lines.append(f"{finding.check:<{width}}  {'OK' if finding.ok else 'PROBLEM':<7}  {finding.detail}")
        if finding.fix:
            lines.append(f"{'':<{width}}           -> {finding.fix}")
    return "\n".join(lines)


def _ago(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds} s ago" if seconds < 120 else f"{seconds // 60} min ago"


async def _workers() -> Finding:
    """The processes taking turns and sending replies, by their heartbeats (every `plaint serve` running its
    workers, every `plaint worker`), and whether anything waits for them. A process stopped cleanly removes its
    heartbeat; one that was killed leaves it to go stale."""
    now = datetime.now(UTC)
    beats = await heartbeats()
    running = [f"{name} ({_ago((now - at).total_seconds())})" for name, at in beats.items()
               if now - at <= HEARTBEAT_MAX_AGE]
    stale = [f"{name} (last beat {_ago((now - at).total_seconds())})" for name, at in beats.items()
             if now - at > HEARTBEAT_MAX_AGE]
    gone = f"; gone without stopping: {', '.join(stale)}" if stale else ""
    if running:
        return Finding("workers", True, f"{len(running)} running: {', '.join(running)}{gone}")
    updates = await TortoiseInbox(skip_locked=False).pending_count()
    replies = sum((await TortoiseOutboxDepth().depth_by_kind()).values())
    if updates or replies:
        return Finding(
            "workers", False,
            f"none running, and {updates} platform update(s) and {replies} outgoing message(s) wait{gone}",
            "start `plaint serve` (or `plaint worker` beside web processes run with PLAINT_SERVE_WORKERS=false)",
        )
    return Finding("workers", True, f"none running (nothing waits for one){gone}")
