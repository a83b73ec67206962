"""Spike alerts on a timer: every `every` (default an hour) the watch counts today's cases per product x category
against their own recent days (bot/insight/spikes.py states the method), records each new spike once, posts it to
the configured Slack channel through the outbox and emits the `spike.detected` webhook event.

One timer row carries the watch from check to check (scheduled at start-up when missing), so with many workers
exactly one of them checks at a time, and a spike already recorded for that day is never posted again."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from bot.case_events import CASE_EVENT_KIND, WebhookEvent
from bot.config import Settings
from bot.insight.figures import bucket_start
from bot.insight.spikes import SeriesKey, Spike, SpikeSettings, detect_spikes
from bot.ordering import case_event_key
from storage.insight import CaseQuery, TortoiseInsight
from storage.insight_alerts import TortoiseSpikeAlerts
from storage.outbox import add_outbox_item
from storage.timers import DueTimer, NewTimer, TortoiseTimerStore

TIMER_KIND = "spike_watch"
TIMER_KEY = "insight:spike_watch"


class ChannelPoster(Protocol):
    async def post_to_channel(self, ordering_key: str, slack_channel: str, text: str) -> None:
        """Say `text` in a Slack channel (through the outbox)."""


def _start_of_day(day: date, timezone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone)


def drill_down_url(public_url: str, spike: Spike, timezone: tzinfo) -> str:
    params = {"product": spike.product or "", "category": spike.category or "",
              "since": _start_of_day(spike.day, timezone).isoformat(),
              "until": _start_of_day(spike.day + timedelta(days=1), timezone).isoformat()}
    return f"{public_url.rstrip('/')}/admin/cases?" + urlencode({k: v for k, v in params.items() if v})


def alert_text(spike: Spike, examples: list[str], link: str) -> str:
    """Both languages: the alert channel is shared by English and Chinese speaking staff."""
    product, category = spike.product or "—", spike.category or "—"
    return "\n".join([
        f":rotating_light: Complaint spike: *{product}* × *{category}*: {spike.count} cases on {spike.day} "
        f"(usual {spike.baseline_mean:.1f} a day; alert from {spike.threshold:.0f}).",
        f":rotating_light: 投诉激增：*{product}* × *{category}*：{spike.day} 共 {spike.count} 件"
        f"（平时每天 {spike.baseline_mean:.1f} 件；{spike.threshold:.0f} 件起报警）。",
        "Examples / 示例: " + (", ".join(examples) or "—"),
        f"<{link}|Cases / 案件>",
    ])


class SpikeWatch:
    def __init__(
        self, *, insight: TortoiseInsight, alerts: TortoiseSpikeAlerts, timers: TortoiseTimerStore,
        poster: ChannelPoster, settings: SpikeSettings, timezone: tzinfo,
        slack_channel: str | None, public_url: str, every: timedelta = timedelta(hours=1),
    ) -> None:
        self._insight = insight
        self._alerts = alerts
        self._timers = timers
        self._poster = poster
        self._settings = settings
        self._timezone = timezone
        self._slack_channel = slack_channel
        self._public_url = public_url
        self._every = every

    async def ensure_scheduled(self, now: datetime) -> None:
        """At start-up: the watch has its next check pending (a restart never adds a second one)."""
        if not await self._alerts.watch_pending(TIMER_KIND, TIMER_KEY):
            await self._timers.schedule(NewTimer(kind=TIMER_KIND, key=TIMER_KEY, due_at=now, payload={}))

    async def daily_counts(self, today: date) -> dict[SeriesKey, dict[date, int]]:
        """Cases per product x category per day (business time zone) over today and its baseline days."""
        first = today - timedelta(days=self._settings.baseline_days)
        counts: Counter[tuple[SeriesKey, date]] = Counter()
        for quarter, (product, category), cases in await self._insight.quarter_counts(
            CaseQuery(date_from=first, date_to=today), ("product", "category")
        ):
            counts[((product, category), bucket_start(quarter, "day", self._timezone))] += cases
        series: dict[SeriesKey, dict[date, int]] = {}
        for (key, day), cases in counts.items():
            series.setdefault(key, {})[day] = cases
        return series

    async def check(self, now: datetime) -> list[Spike]:
        """Record, post and announce today's new spikes; returns them."""
        today = now.astimezone(self._timezone).date()
        raised: list[Spike] = []
        for spike in detect_spikes(await self.daily_counts(today), today, self._settings):
            examples = await self._alerts.example_cases(
                spike.product, spike.category, _start_of_day(today, self._timezone).astimezone(UTC),
                _start_of_day(today + timedelta(days=1), self._timezone).astimezone(UTC),
            )
            numbers = [number for number, _ in examples]
            if not await self._alerts.record(
                product=spike.product, category=spike.category, day=spike.day, cases=spike.count,
                baseline_mean=spike.baseline_mean, threshold=spike.threshold, examples=numbers, at=now,
            ):
                continue
            link = drill_down_url(self._public_url, spike, self._timezone)
            if self._slack_channel:
                await self._poster.post_to_channel(
                    f"spike:{spike.product}:{spike.category}", self._slack_channel, alert_text(spike, numbers, link)
                )
            if examples:
                await self._announce(spike, examples[0], numbers, link, now)
            raised.append(spike)
        return raised

    async def _announce(self, spike: Spike, example: tuple[str, str], numbers: list[str], link: str,
                        now: datetime) -> None:
        # A webhook event is about a case (payload version 1): the newest case of the spike carries it, and
        # the "spike" section carries the numbers.
        number, status = example
        await add_outbox_item(kind=CASE_EVENT_KIND, channel="operations", ordering_key=case_event_key(number),
                              payload={
            "case_number": number, "action": "spike_detected", "from": status, "to": status, "actor": "insight",
            "occurred_at": now.isoformat(), "event": WebhookEvent.SPIKE_DETECTED.value,
            "spike": {"product": spike.product, "category": spike.category, "day": spike.day.isoformat(),
                      "cases": spike.count, "baseline_mean": round(spike.baseline_mean, 3),
                      "threshold": spike.threshold, "examples": numbers, "link": link},
        })

    async def fire(self, timer: DueTimer, now: datetime) -> None:
        await self.check(now)
        await self._timers.schedule(
            NewTimer(kind=TIMER_KIND, key=TIMER_KEY, due_at=max(now, timer.due_at) + self._every, payload={})
        )


def build_spike_watch(settings: Settings, timers: TortoiseTimerStore, poster: ChannelPoster, *,
                      slack_on: bool) -> SpikeWatch:
    """The watch as the settings configure it (the composition root calls this)."""
    return SpikeWatch(
        insight=TortoiseInsight(ZoneInfo(settings.timezone)), alerts=TortoiseSpikeAlerts(), timers=timers,
        poster=poster,
        settings=SpikeSettings(baseline_days=settings.spike_baseline_days, min_count=settings.spike_min_count,
                               ratio=settings.spike_ratio, alpha=settings.spike_alpha),
        timezone=ZoneInfo(settings.timezone),
        slack_channel=settings.spike_slack_channel if slack_on and settings.spike_slack_channel else None,
        public_url=settings.public_url, every=timedelta(minutes=settings.spike_check_minutes),
    )
