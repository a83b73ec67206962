"""Insight on a real database: figures checked against hand-computed values, exports through the CLI."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import pytest_asyncio

from bot.config import Settings
from bot.insight.export import COLUMNS
from bot.insight.figures import InsightFigures
from bot.insight.rollup_watch import TIMER_KIND as ROLLUP_TIMER_KIND
from bot.insight.rollup_watch import RollupWatch
from bot.privacy.keys import install_data_keyring
from storage.audit import AuditFilter, TortoiseAuditLog
from storage.database import open_database
from storage.insight import CaseQuery, TortoiseInsight
from storage.insight_rollup import TortoiseInsightRollup
from storage.models import (
    Case,
    CaseEvent,
    CaseLink,
    CasePriority,
    CaseSla,
    CsatSurvey,
    InsightDaily,
    InsightRollupState,
    NlpCorrection,
    Timer,
)
from storage.synthetic import SyntheticCase, SyntheticEvent, insert_synthetic_cases
from storage.timers import TortoiseTimerStore
from tests.e2e.test_processes import plaint

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2026-11-27 15:30 UTC is 23:30 on the 27th in Shanghai; 17:00 UTC is already the 28th there.
T0 = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)


def case(name: str, *, channel: str = "web", lang: str = "en", product: str = "kettle",
         category: str = "product_quality", status: str = "new", created_at: datetime = T0,
         events: tuple[tuple[str, timedelta], ...] = (), phone: str | None = "+1 201 555 0123",
         description: str = "It leaks") -> SyntheticCase:
    return SyntheticCase(
        channel=channel, sender_id=f"s-{name}", lang=lang, name=name, phone=phone, email=f"{name.lower()}@example.com",
        description=description, product=product, product_confidence=0.9, category=category,
        category_confidence=0.8, status=status, team="general", assignee=None, created_at=created_at,
        events=tuple(SyntheticEvent(kind, "U1", created_at + after) for kind, after in events),
    )


FIXED = [
    # Resolved across midnight (Shanghai): first reply after 1 h, resolved after 2 h, reopened, resolved again.
    case("Ann", status="resolved", events=(("acknowledge", timedelta(minutes=5)), ("agent_reply", timedelta(hours=1)),
                                           ("resolve", timedelta(hours=2)), ("reopen", timedelta(hours=3)),
                                           ("agent_reply", timedelta(hours=4)), ("resolve", timedelta(hours=5)))),
    # Filed at 01:00 on the 28th in Shanghai; reply after 3 h, resolved after 10 h, never reopened.
    case("Bob", channel="telegram", category="delivery_logistics", status="resolved",
         created_at=T0 + timedelta(hours=1, minutes=30),
         events=(("agent_reply", timedelta(hours=3)), ("resolve", timedelta(hours=10)))),
    # Open, acknowledged only: no first response (acknowledging is not a response).
    case("李娜", channel="wechat", lang="zh", product="washing_machine", status="acknowledged",
         created_at=T0 + timedelta(days=2), events=(("acknowledge", timedelta(minutes=1)),)),
    # Hostile text for the spreadsheet exports.
    case("Eve", product="washing_machine", created_at=T0 + timedelta(days=3), phone=None,
         description='=HYPERLINK("http://evil.example","click")'),
]


@pytest_asyncio.fixture
async def fixed_data(settings: Settings) -> AsyncIterator[TortoiseInsight]:
    install_data_keyring(settings)  # the key the `plaint` processes of these tests read the rows with
    async with open_database(settings.effective_database_url):
        assert await insert_synthetic_cases(FIXED) == 4
        yield TortoiseInsight(SHANGHAI, batch_size=3)  # a batch smaller than the data: paging is exercised


@pytest_asyncio.fixture(params=["rollup", "cases"])
async def figures(request: pytest.FixtureRequest, fixed_data: TortoiseInsight) -> InsightFigures:
    """The same figures from the daily rollup (backfilled) and from the cases directly: both must be right."""
    if request.param == "cases":
        return InsightFigures(fixed_data, SHANGHAI)
    rollup = TortoiseInsightRollup(SHANGHAI)
    assert len(await rollup.rebuild(datetime.now(UTC))) == 4  # the 27th to the 30th in Shanghai
    assert await InsightDaily.filter(grain="").count() == 4  # the day's totals
    return InsightFigures(fixed_data, SHANGHAI, rollup)


async def test_figures_match_hand_computed_values(figures: InsightFigures) -> None:
    everything = CaseQuery()

    volume = await figures.volume(everything, "day", "channel")
    assert [(p.period, p.value, p.cases) for p in volume] == [
        (date(2026, 11, 27), "web", 1),  # Ann: 23:30 on the 27th in Shanghai
        (date(2026, 11, 28), "telegram", 1),  # Bob: 01:00 on the 28th
        (date(2026, 11, 29), "wechat", 1),
        (date(2026, 11, 30), "web", 1),
    ]
    weekly = await figures.volume(everything, "week", "lang")
    assert [(p.period, p.value, p.cases) for p in weekly] == [
        (date(2026, 11, 23), "en", 2), (date(2026, 11, 23), "zh", 1), (date(2026, 11, 30), "en", 1),
    ]

    timings = await figures.timings(everything)
    assert timings.cases == 4
    # First responses: Ann 1 h, Bob 3 h (the wechat case has none; Eve none): nearest-rank median = 1 h.
    assert timings.first_response.cases == 2
    assert timings.first_response.median_seconds == 3600
    assert timings.first_response.p90_seconds == 3 * 3600
    # Resolution counts the FIRST resolve: Ann 2 h, Bob 10 h.
    assert (timings.resolution.median_seconds, timings.resolution.p90_seconds) == (2 * 3600, 10 * 3600)
    assert (timings.resolved_cases, timings.reopened_cases, timings.reopen_rate) == (2, 1, 0.5)

    heat = await figures.heatmap(everything)
    assert {(cell.product, cell.category): cell.cases for cell in heat} == {
        ("kettle", "product_quality"): 1, ("kettle", "delivery_logistics"): 1,
        ("washing_machine", "product_quality"): 2,
    }
    backlog = await figures.backlog(everything, now=T0 + timedelta(days=3, hours=12))
    assert backlog == [("< 1 day", 1), ("1-3 days", 1), ("3-7 days", 0), ("> 7 days", 0)]
    # Ten days on, both are over a week old (no band edge cuts their filing days: the rollup's rows count them).
    later = await figures.backlog(everything, now=T0 + timedelta(days=13))
    assert later == [("< 1 day", 0), ("1-3 days", 0), ("3-7 days", 0), ("> 7 days", 2)]
    assert await figures.backlog(CaseQuery(product="washing_machine", lang="zh"), now=T0 + timedelta(days=6)) == [
        ("< 1 day", 0), ("1-3 days", 0), ("3-7 days", 1), ("> 7 days", 0)]


async def test_filters_narrow_every_figure(fixed_data: TortoiseInsight, figures: InsightFigures) -> None:
    only_28th = CaseQuery(date_from=date(2026, 11, 28), date_to=date(2026, 11, 28))
    assert await fixed_data.count(only_28th) == 1
    assert (await figures.timings(only_28th)).resolution.median_seconds == 10 * 3600
    assert (await figures.timings(CaseQuery(channel="telegram", category="delivery_logistics"))).cases == 1
    assert (await figures.timings(CaseQuery(team="logistics"))).cases == 0
    # Three dimensions at once: the rollup's full grain.
    three = CaseQuery(channel="web", lang="en", product="washing_machine")
    assert [(cell.category, cell.cases) for cell in await figures.heatmap(three)] == [("product_quality", 1)]
    washing = CaseQuery(product="washing_machine")
    assert [row.name async for row in fixed_data.stream(washing)] == ["李娜", "Eve"]
    assert await fixed_data.count(CaseQuery(product="washing_machine", lang="zh")) == 1


async def test_cases_export_through_the_cli_in_every_format(settings: Settings, fixed_data: TortoiseInsight) -> None:
    ann, bob = await Case.get(sender_id="s-Ann"), await Case.get(sender_id="s-Bob")
    await CasePriority.create(case_id=ann.id, priority="high", source="rules", reasons=[], set_by="rules")
    await CaseSla.create(case_id=ann.id, policy_name="standard", policy={}, state="hit", started_at=T0)
    await CsatSurvey.create(case_id=ann.id, channel="web", sender_id="s-Ann", lang="en", status="answered", score=4)
    await CaseLink.create(case_id=bob.id, earlier_case_id=ann.id, status="linked")
    await NlpCorrection.create(case_id=bob.id, field="category", text="x", lang="en", old_value="product_quality",
                               new_value="delivery_logistics", actor="U1")
    out = settings.data_dir / "out"
    out.mkdir(parents=True)
    await plaint(settings, "cases", "export", "--format", "csv", "--out", str(out / "cases.csv"))
    text = (out / "cases.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0].keys()) == COLUMNS
    assert [row["name"] for row in rows] == ["Ann", "Bob", "李娜", "Eve"]
    ann = rows[0]
    assert (ann["resolution_seconds"], ann["reopen_count"], ann["phone"]) == ("7200.0", "1", "+1 201 555 0123")
    assert rows[3]["description"].startswith("'=HYPERLINK")  # a spreadsheet must not run customer text
    assert {key: ann[key] for key in ("priority", "sla_outcome", "csat_status", "csat_score", "duplicate_of",
                                      "product_source", "category_source", "flow_version", "evidence_count")} == {
        "priority": "high", "sla_outcome": "hit", "csat_status": "answered", "csat_score": "4", "duplicate_of": "",
        "product_source": "nlp", "category_source": "nlp", "flow_version": "1", "evidence_count": "0"}
    assert (rows[1]["duplicate_of"], rows[1]["category_source"]) == (ann["number"], "agent")
    assert (ann["first_response_at"], ann["resolved_at"]) == (
        (T0 + timedelta(hours=1)).isoformat(), (T0 + timedelta(hours=2)).isoformat())
    assert json.loads(ann["extra_fields"]) == {"synthetic": True}

    await plaint(settings, "cases", "export", "--format", "jsonl", "--mask", "--product", "washing_machine",
                 "--out", str(out / "cases.jsonl"))
    documents = [json.loads(line) for line in (out / "cases.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [document["name"] for document in documents] == ["李***", "E***"]
    assert documents[0]["schema_version"] == 2
    assert documents[0]["extra_fields"] == {"synthetic": "***"}  # masked: the answers may name a person
    assert documents[0]["phone"] == "********0123" or documents[0]["phone"].endswith("0123")
    assert "example.com" in documents[0]["email"] and not documents[0]["email"].startswith("李娜")

    await plaint(settings, "cases", "export", "--format", "xlsx", "--out", str(out / "cases.xlsx"))
    sheet = openpyxl.load_workbook(out / "cases.xlsx", read_only=True)["cases"]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert tuple(values[0]) == COLUMNS
    assert [row[COLUMNS.index("number")] for row in values[1:]] == [row["number"] for row in rows]
    assert values[4][COLUMNS.index("description")] == FIXED[3].description  # stored as text, not a formula

    async with open_database(settings.effective_database_url):
        audit = await TortoiseAuditLog().page(AuditFilter(None, "cases", None, None, None), 10, None)
    assert sorted(entry.object_id for entry in audit.entries if entry.action == "export") == ["csv", "jsonl", "xlsx"]
    assert any(entry.after == {"product": "washing_machine", "format": "jsonl", "masked": True}
               and entry.actor.startswith("cli:") for entry in audit.entries)


async def test_dev_seed_creates_realistic_cases_that_export(settings: Settings) -> None:
    await plaint(settings, "dev", "seed", "--cases", "300", "--days", "30", "--batch", "120")
    install_data_keyring(settings)  # the key the seeding process created under the data directory
    async with open_database(settings.effective_database_url):
        insight = TortoiseInsight(UTC)
        rows = [row async for row in insight.stream(CaseQuery())]
    assert len(rows) == 300
    assert {row.channel for row in rows} == {"web", "telegram", "wechat", "slack"}
    assert {row.lang for row in rows} == {"en", "zh"}
    assert len({row.product for row in rows}) > 3
    assert any(row.resolved_at is not None for row in rows) and any(row.status == "new" for row in rows)
    assert all(row.first_response_at is None or row.first_response_at >= row.created_at for row in rows)
    assert len({row.number for row in rows}) == 300


async def test_satisfaction_and_sla_attainment_count_cases(fixed_data: TortoiseInsight) -> None:
    ann, bob, lina, eve = [await Case.get(sender_id=f"s-{name}") for name in ("Ann", "Bob", "李娜", "Eve")]
    for row, status, score in ((ann, "answered", 5), (bob, "answered", 2), (lina, "asked", None),
                               (eve, "not_asked", None)):
        await CsatSurvey.create(case_id=row.id, channel=row.channel, sender_id=row.sender_id, lang=row.lang,
                                status=status, score=score)
    for row, state in ((ann, "hit"), (bob, "missed"), (lina, "active")):
        await CaseSla.create(case_id=row.id, policy_name="standard", policy={}, state=state, started_at=T0)
    rollup = TortoiseInsightRollup(SHANGHAI)
    await rollup.rebuild(datetime.now(UTC))
    for figures in (InsightFigures(fixed_data, SHANGHAI), InsightFigures(fixed_data, SHANGHAI, rollup)):
        everything = await figures.satisfaction(CaseQuery())
        # Eve's survey could not be sent: not asked. 李娜's SLA still runs: not concluded.
        assert (everything.surveys_asked, everything.surveys_answered, everything.mean_score) == (3, 2, 3.5)
        assert everything.response_rate == 2 / 3 and everything.sla_attainment == 0.5
        telegram = await figures.satisfaction(CaseQuery(channel="telegram"))
        assert (telegram.mean_score, telegram.response_rate, telegram.sla_attainment) == (2, 1, 0)
        assert (await figures.satisfaction(CaseQuery(channel="slack"))).mean_score is None


async def test_nlp_quality_counts_proposals_taken_and_corrected(fixed_data: TortoiseInsight) -> None:
    # Bob typed his category himself (confidence 1.0); an agent corrected Eve's product.
    bob = await Case.get(sender_id="s-Bob")
    await Case.filter(id=bob.id).update(category_confidence=1.0)
    eve = await Case.get(sender_id="s-Eve")
    await NlpCorrection.create(case_id=eve.id, field="product", text="x", lang="en", old_value="kettle",
                               new_value="washing_machine", actor="U1")
    rollup = TortoiseInsightRollup(SHANGHAI)
    await rollup.rebuild(datetime.now(UTC))
    for figures in (InsightFigures(fixed_data, SHANGHAI), InsightFigures(fixed_data, SHANGHAI, rollup)):
        products = await figures.nlp_quality(CaseQuery(), "product")
        assert [(row.value, row.cases, row.from_nlp, row.corrected) for row in products] == [
            ("kettle", 2, 2, 0), ("washing_machine", 2, 2, 1)]
        assert products[1].corrected_share == 0.5
        categories = await figures.nlp_quality(CaseQuery(), "category")
        assert [(row.value, row.cases, row.from_nlp, row.corrected) for row in categories] == [
            ("product_quality", 3, 3, 0), ("delivery_logistics", 1, 0, 0)]
        assert categories[1].accepted_share == 0


async def test_rollup_refresh_follows_new_cases_and_events(fixed_data: TortoiseInsight) -> None:
    # No look-back: the fixed cases were written a moment ago, and would all count as changed.
    rollup = TortoiseInsightRollup(SHANGHAI, lag=timedelta(0))
    figures = InsightFigures(fixed_data, SHANGHAI, rollup)
    built = datetime.now(UTC)
    await rollup.rebuild(built)
    # After the build: Bob's case is reopened and a new case is filed on the 28th (Shanghai).
    bob = await Case.get(sender_id="s-Bob")
    await CaseEvent.create(case_id=bob.id, kind="reopen", actor="customer", data={})
    assert await insert_synthetic_cases([case("Zed", channel="telegram", created_at=T0 + timedelta(hours=2))]) == 1
    stale = await figures.timings(CaseQuery())
    assert (stale.cases, stale.reopened_cases) == (4, 1)  # the rollup is as of its last refresh
    refreshed = await rollup.refresh(datetime.now(UTC))
    # The 28th changed (Eve, filed "in the future" of the real clock, is always seen as new; the 27th is not).
    assert date(2026, 11, 28) in refreshed and date(2026, 11, 27) not in refreshed
    fresh = await figures.timings(CaseQuery())
    assert (fresh.cases, fresh.reopened_cases, fresh.reopen_rate) == (5, 2, 1.0)
    volume = await figures.volume(CaseQuery(), "day", "channel")
    assert (date(2026, 11, 28), "telegram", 2) in [(p.period, p.value, p.cases) for p in volume]
    # A rollup built for another time zone is not used: the figures read the cases.
    other = InsightFigures(TortoiseInsight(UTC), UTC, TortoiseInsightRollup(UTC))
    assert [(p.period, p.cases) for p in await other.volume(CaseQuery(), "day", "lang")][:1] == [
        (date(2026, 11, 27), 3)]


async def test_the_rollup_watch_refreshes_on_the_timer_and_reschedules_itself(fixed_data: TortoiseInsight) -> None:
    timers = TortoiseTimerStore(skip_locked=False)
    rollup = TortoiseInsightRollup(SHANGHAI)
    watch = RollupWatch(rollup, timers, every=timedelta(minutes=5))
    now = datetime.now(UTC)
    await watch.ensure_scheduled(now)
    await watch.ensure_scheduled(now)  # a second worker starting: still one pending refresh
    pending = await Timer.filter(kind=ROLLUP_TIMER_KIND, status="pending")
    assert len(pending) == 1
    [due] = await timers.claim_due(now, "worker-1")
    assert not await rollup.current()
    async with timers.firing(due, "worker-1", now):
        await watch.fire(due, now)
    # A small database without a rollup: the watch built it, and the next refresh is pending five minutes on.
    assert await rollup.current() and await InsightDaily.filter(grain="").count() == 4
    [following] = await Timer.filter(kind=ROLLUP_TIMER_KIND, status="pending")
    assert following.due_at == now + timedelta(minutes=5)
    # Past the build limit the watch leaves the backfill to the operator and the figures read the cases.
    await InsightRollupState.all().delete()
    await RollupWatch(rollup, timers, build_limit=3).run_once(now)
    assert not await rollup.current()


@pytest.mark.one_database("postgres")
async def test_dev_seed_copies_a_generated_base_in_sql_and_builds_the_rollup(settings: Settings) -> None:
    # PostgreSQL: 100 generated, copied once (200), 50 more generated; SQLite (without PostgreSQL): all generated.
    await plaint(settings, "dev", "seed", "--cases", "250", "--days", "20", "--replicate-from", "100")
    async with open_database(settings.effective_database_url):
        assert await Case.all().count() == 250
        numbers = await Case.all().values_list("number", flat=True)
        senders = await Case.all().values_list("channel", "sender_id")
        assert len(set(numbers)) == 250 and len(set(senders)) == 250
        events = await CaseEvent.all().values_list("case_id", "created_at")
        filed = dict(await Case.all().values_list("id", "created_at"))
        assert {case_id for case_id, _ in events} <= set(filed)
        assert all(at >= filed[case_id] for case_id, at in events)  # a copy's events moved with its case
        figures = InsightFigures(TortoiseInsight(UTC), UTC, TortoiseInsightRollup(UTC))
        assert await TortoiseInsightRollup(UTC).current()  # the seed built the rollup
        assert (await figures.timings(CaseQuery())).cases == 250
