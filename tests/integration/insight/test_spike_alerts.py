"""Spike alerts on the running server: a planted spike in one product x category, quiet noise elsewhere; the
timer fires the watch, Slack's alert channel gets the numbers, examples and the drill-down link once, and the
spike.detected webhook event reaches a subscriber with the same numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from bot.config import Settings
from storage.models import OutboxItem, SpikeAlert, Timer
from storage.synthetic import SyntheticCase, insert_synthetic_cases
from storage.webhooks import TortoiseWebhookStore
from tests.fakes.webhook_receiver import FakeWebhookReceiver
from tests.integration.insight.test_insight import case
from tests.integration.slack.conftest import slack_api, start_plaint
from tests.integration.slack.harness import HarnessFactory, SlackHarness
from tests.waiting import eventually

__all__ = ["slack_api", "start_plaint"]  # fixtures

pytestmark = pytest.mark.one_database("postgres")

ALERTS = "CSPIKES"


@pytest_asyncio.fixture
async def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"spike_slack_channel": ALERTS})


def history(now: datetime) -> list[SyntheticCase]:
    """A week of one kettle complaint a day and two billing ones; today twelve kettle ones and the usual two."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    cases: list[SyntheticCase] = []
    for days in range(1, 8):
        day = today - timedelta(days=days) + timedelta(hours=10)
        cases.append(case(f"k{days}", product="kettle", created_at=day))
        cases += [case(f"b{days}-{i}", product="washing_machine", category="billing_refund",
                       created_at=day + timedelta(minutes=i)) for i in range(2)]
    step = (now - today) / 15
    cases += [case(f"today{i}", product="kettle", created_at=today + step * (i + 1)) for i in range(12)]
    cases += [case(f"quiet{i}", product="washing_machine", category="billing_refund",
                   created_at=today + step * (i + 13)) for i in range(2)]
    return cases


async def check_now(plaint: SlackHarness) -> None:
    """Bring the watch's next check forward to now, as the hour passing would."""
    before = await Timer.filter(kind="spike_watch", status="fired").count()
    await Timer.filter(kind="spike_watch", status="pending").update(due_at=datetime.now(UTC) - timedelta(seconds=1))
    plaint.application.lifecycle.timer_worker.wake()

    async def fired() -> bool:
        return await Timer.filter(kind="spike_watch", status="fired").count() > before

    await eventually(fired, what="the spike watch to fire")


def alerts_posted(plaint: SlackHarness) -> list[str]:
    return [str(call.params["text"]) for call in plaint.api.calls_to("chat.postMessage", ALERTS)]


async def test_a_planted_spike_is_alerted_once_on_slack_and_as_a_webhook_event(
    start_plaint: HarnessFactory,
) -> None:
    plaint = await start_plaint()
    receiver = FakeWebhookReceiver(secrets={"/hooks/spikes": "spike-secret"})
    async with receiver.serving() as base:
        await TortoiseWebhookStore().add_subscription(f"{base}/hooks/spikes", ["spike.detected"], "spike-secret",
                                                      may_see_personal_data=False)
        assert await insert_synthetic_cases(history(datetime.now(UTC))) == 7 * 3 + 14
        await check_now(plaint)

        async def posted() -> bool:
            return len(alerts_posted(plaint)) == 1

        # The spike watch runs on the timer worker, then the outbox: slow on a busy machine.
        await eventually(posted, within=60, what="the alert on Slack")
        [text] = alerts_posted(plaint)
        assert "*kettle* × *product_quality*: 12 cases" in text and "usual 1.0 a day" in text
        assert "投诉激增" in text  # both languages
        assert "https://plaint.example/admin/cases?product=kettle&category=product_quality&since=" in text
        [alert] = await SpikeAlert.all()
        assert (alert.product, alert.category, alert.cases) == ("kettle", "product_quality", 12)
        assert len(alert.examples) == 3 and all(number in text for number in alert.examples)

        async def delivered() -> bool:
            return len(receiver.accepted("/hooks/spikes")) == 1

        await eventually(delivered, what="the spike.detected webhook")
        [delivery] = receiver.accepted("/hooks/spikes")
        document = delivery.document
        assert delivery.verified and document["type"] == "spike.detected"
        assert document["spike"]["cases"] == 12 and document["spike"]["examples"] == alert.examples
        assert document["case"]["number"] == alert.examples[0]

        # The next check finds the same spike: it is not posted again; the quiet series never was.
        await check_now(plaint)

        async def outbox_idle() -> bool:
            return not await OutboxItem.filter(status__in=("pending", "sending")).exists()

        await eventually(outbox_idle, what="the outbox to settle")
        assert len(alerts_posted(plaint)) == 1 and await SpikeAlert.all().count() == 1
        assert not any("washing_machine" in text for text in alerts_posted(plaint))
