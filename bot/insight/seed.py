"""Realistic synthetic cases for benchmarks and demos: both languages, every channel, plausible mixes of
products, categories, statuses and response times. Deterministic for a seed."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from storage.synthetic import SyntheticCase, SyntheticEvent

# (channel, share, share of Chinese speakers on it)
_CHANNELS = (("web", 0.35, 0.3), ("telegram", 0.3, 0.15), ("wechat", 0.25, 0.95), ("slack", 0.1, 0.1))
_EN_NAMES = ("Maria Lopez", "James Smith", "Aisha Khan", "Tom Becker", "Emma Brown", "Liam Wilson", "Sofia Rossi")
_ZH_NAMES = ("李娜", "王伟", "张敏", "刘洋", "陈静", "杨帆", "赵磊")
_EN_TEXT = (
    "The {product} I bought stopped working after a week.",
    "My {product} arrived damaged and nobody answers my emails.",
    "I was charged twice for the {product}.",
    "The {product} is much worse than advertised.",
    "Still waiting for the {product} I ordered two weeks ago.",
)
_ZH_TEXT = ("我买的{product}用了一周就坏了。", "{product}送到时已经损坏，客服不回复。", "{product}被重复扣款。",
            "{product}和宣传的完全不一样。", "订的{product}两周了还没到。")
_AGENTS = ("U01AGENTA", "U01AGENTB", "U01AGENTC", "U01AGENTD")
# Share of cases filed in the last hour: the fresh backlog every desk has.
_RECENT_SHARE = 0.03


def synthetic_cases(
    count: int, *, products: Sequence[str], categories: Sequence[str], teams: Sequence[str], now: datetime,
    days: int = 90, seed: int = 2026, first: int = 0,
) -> Iterator[SyntheticCase]:
    """`count` cases filed over the last `days` days. Popular products and categories get more complaints
    (a Zipf-like mix); older cases are more often resolved; response times are log-normal in minutes to days."""
    rng = random.Random(seed)
    product_weights = [1 / (rank + 1) for rank in range(len(products))]
    category_weights = [1 / (rank + 1) ** 0.7 for rank in range(len(categories))]
    channels = [channel for channel, _, _ in _CHANNELS]
    channel_weights = [share for _, share, _ in _CHANNELS]
    zh_share = {channel: share for channel, _, share in _CHANNELS}
    for index in range(first, first + count):
        channel = rng.choices(channels, channel_weights)[0]
        lang = "zh" if rng.random() < zh_share[channel] else "en"
        product = rng.choices(products, product_weights)[0]
        category = rng.choices(categories, category_weights)[0]
        # The same draws whatever today is: the data depends on the seed alone, not on the weekday it is run.
        weekend_roll, recent_roll, age_roll = rng.random(), rng.random(), rng.random()
        # A desk always has cases filed in the last hour (some not yet acknowledged), beside the long tail.
        recent = recent_roll < _RECENT_SHARE
        age = timedelta(seconds=age_roll * 3600 if recent else age_roll ** 1.3 * days * 86400)
        created_at = now - age
        if not recent and created_at.weekday() >= 5 and weekend_roll < 0.3:  # fewer complaints at weekends
            created_at -= timedelta(days=2)
        name = rng.choice(_ZH_NAMES if lang == "zh" else _EN_NAMES)
        template = rng.choice(_ZH_TEXT if lang == "zh" else _EN_TEXT)
        events, status, assignee = _history(rng, created_at, now)
        yield SyntheticCase(
            channel=channel,
            sender_id=f"synthetic-{channel}-{index}",
            lang=lang,
            name=name,
            phone=_phone(rng, lang),
            email=None if lang == "zh" else f"customer{index}@example.com",
            description=template.format(product=product),
            product=product,
            product_confidence=round(rng.uniform(0.55, 0.99), 3),
            category=category,
            category_confidence=round(rng.uniform(0.4, 0.98), 3),
            status=status,
            team=rng.choice(teams),
            assignee=assignee,
            created_at=created_at,
            events=events,
        )


def _phone(rng: random.Random, lang: str) -> str:
    return f"+86 138 {rng.randrange(10**7, 10**8)}" if lang == "zh" else f"+1 201 555 {rng.randrange(1000, 9999)}"


def _history(rng: random.Random, created_at: datetime, now: datetime
             ) -> tuple[tuple[SyntheticEvent, ...], str, str | None]:
    events = [SyntheticEvent("filed", "customer", created_at)]
    assignee = rng.choice(_AGENTS)
    moment = created_at

    def later(median_minutes: float) -> datetime | None:
        nonlocal moment
        moment = moment + timedelta(minutes=rng.lognormvariate(0, 1.0) * median_minutes)
        return moment if moment < now else None

    if (at := later(45)) is None:
        return tuple(events), "new", None
    events.append(SyntheticEvent("acknowledge", assignee, at))
    if (at := later(120)) is None:
        return tuple(events), "acknowledged", assignee
    events.append(SyntheticEvent("agent_reply", assignee, at))
    if (at := later(60 * 24)) is None or rng.random() < 0.08:
        return tuple(events), "waiting_for_customer", assignee
    events.append(SyntheticEvent("resolve", assignee, at))
    if rng.random() < 0.06 and (at := later(60 * 24)) is not None:
        events.append(SyntheticEvent("reopen", "customer", at))
        return tuple(events), "in_progress", assignee
    return tuple(events), "resolved", assignee
