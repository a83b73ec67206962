"""The lifecycle room assembled the way the composition root will: the desk with the room as its observer,
the timer worker on a clock the test moves, the outbox worker delivering to the fake Slack."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot

from bot.channels.base import Channel
from bot.channels.telegram import TelegramChannel, bot_api_urls
from bot.channels.web import TranscriptChannel
from bot.channels.wechat import WeChatChannel
from bot.channels.wechat_api import WeChatApiClient
from bot.desk.notifier import SlackDeskNotifier
from bot.desk.routing import parse_routing
from bot.desk.service import DeskService
from bot.flow_registry import FlowRegistry
from bot.intake import IntakeService
from bot.lifecycle.case_lifecycle import PriorityService
from bot.lifecycle.case_thread import OUTBOX_KIND
from bot.lifecycle.csat import CsatService
from bot.lifecycle.digest import DigestService
from bot.lifecycle.duplicates import DuplicateService
from bot.lifecycle.parts import build_lifecycle
from bot.lifecycle.sla import SlaService
from bot.lifecycle.sla_policy import SlaPolicies, parse_sla_policies
from bot.lifecycle.slack_delivery import SlackCaseThreadDelivery
from bot.lifecycle.timers import TimerWorker
from bot.messages import Inbound
from bot.outbox import ChannelDelivery, OutboxWorker
from bot.passive_replies import PassiveReplyService
from flows import ConversationState, ExtractedValue, Lang, Proposal
from storage.crypto import lookup_hash
from storage.database import supports_row_locks
from storage.desk import TortoiseDeskStore
from storage.evidence import LocalEvidenceStore
from storage.intake import TortoiseIntakeStore
from storage.models import Case, ChannelIdentity, Conversation, Customer
from storage.outbox import TortoiseOutbox, add_outbox_item
from storage.sla import SlaEventItem, TortoiseSlaStore
from storage.timers import TortoiseTimerStore
from storage.tokens import TortoiseSharedTokenStore
from tests.fakes.clock import ManualClock
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramBotApi, running_fake_bot_api
from tests.fakes.wechat_api import FakeWeChatApi

TEAM_CHANNEL = "C0GENERAL"
ESCALATION_CHANNEL = "C0ESCALATE"
AGENT, LEAD, SENIOR = "UAGENT0001", "ULEAD0001", "USENIOR001"
# 2026-11-30 is a Monday.
MONDAY = datetime(2026, 11, 30, tzinfo=UTC)

ROUTING = f"""
default_team: general
teams:
  - {{name: general, slack_channel: {TEAM_CHANNEL}, members: [{AGENT}]}}
"""

POLICIES = f"""
default_calendar: office
calendars:
  office: {{timezone: UTC, hours: {{mon-fri: ["09:00-18:00"]}}}}
  always: {{always_open: true}}
teams:
  general: {{calendar: office, lead: {LEAD}}}
policies:
  - name: urgent
    when: {{priority: [urgent]}}
    calendar: always
    first_response: 1h
    escalation: {{warn_at: 0.5, then: reassign, reassign_to: {SENIOR}}}
  - name: standard
    first_response: 4h
    next_response: 2h
    resolution: 8h
    escalation: {{warn_at: 0.75, then: channel, channel: {ESCALATION_CHANNEL}, after: 1h}}
priority:
  rules:
    - priority: urgent
      when: {{words: [fire, 起火]}}
    - priority: high
      when: {{repeat: {{cases: 2, within_days: 30}}}}
"""

_numbers = itertools.count(1)


class PolicyHolder:
    def __init__(self, policies: SlaPolicies) -> None:
        self.policies = policies

    def __call__(self) -> SlaPolicies:
        return self.policies


class NoProposals:
    """The intake's NLP port, answering nothing: these tests never reach a step that asks it."""

    async def propose(self, text: str, lang: str | None) -> tuple[Proposal, ...]:
        return ()

    def catalog_choices(self, lang: str | None) -> tuple[Proposal, ...]:
        return ()

    async def extract(self, text: str, lang: str | None, now: datetime) -> tuple[ExtractedValue, ...]:
        return ()

    def value_label(self, field: str, value: str, lang: str | None) -> str:
        return value


@dataclass
class LifecycleRoom:
    clock: ManualClock
    desk: DeskService
    sla: SlaService
    priorities: PriorityService
    csat: CsatService
    digest: DigestService
    duplicates: DuplicateService
    intake: IntakeService
    sla_store: TortoiseSlaStore
    timers: TimerWorker
    timer_store: TortoiseTimerStore
    outbox: OutboxWorker
    policies: PolicyHolder
    # Customer channels the outbox delivers to (the tests add the platforms they drive).
    channels: dict[str, Channel] = field(default_factory=dict)

    async def file_case(
        self,
        description: str = "The kettle leaks",
        lang: str = "en",
        channel: str = "web",
        sender: str | None = None,
        last_inbound_at: datetime | None = None,
        *,
        phone: str | None = None,
        product: str | None = None,
        traditional: bool | None = None,
    ) -> str:
        """A case as the intake files it, then announced to the desk (which routes it: the SLA starts).
        With ``traditional`` the case comes from a conversation whose state says whether the customer wrote
        traditional Chinese characters in it (as the flow engine records it)."""
        customer = await Customer.create()
        sender = sender or f"web-{next(_numbers)}"
        identity = await ChannelIdentity.create(
            customer=customer, channel=channel, sender_id=sender, last_inbound_at=last_inbound_at
        )
        conversation = None
        if traditional is not None:
            state = ConversationState("complaint", 1, "done", cast(Lang, lang), "completed", traditional=traditional)
            conversation = await Conversation.create(
                identity=identity, flow_id=state.flow_id, flow_version=state.flow_version, step_id=state.step_id,
                status=state.status, lang=state.lang, state=state.to_json(),
            )
        number = f"PL-T{next(_numbers):05d}"
        await Case.create(
            number=number, status="new", customer=customer, conversation=conversation, channel=channel,
            sender_id=sender, lang=lang,
            description=description, category="product_defect", product=product, phone=phone,
            phone_hash=lookup_hash("phone", phone),
        )
        # The intake's announcement; the desk notifier routes the case (the SLA starts) and posts it.
        await add_outbox_item(
            kind="desk", channel="slack", ordering_key=f"desk:{number}",
            payload={"event": "case_filed", "case_number": number},
        )
        await self.deliver()
        return number

    async def customer_writes(self, number: str, message_id: str, text: str = "Here is what you asked for") -> str:
        """The customer answers on their channel: the intake takes it as a follow-up to the waiting case."""
        case = await Case.get(number=number)
        inbound = Inbound(channel=case.channel, sender_id=case.sender_id, message_id=message_id,
                          received_at=self.clock.now(), text=text)
        await self.intake.handle(inbound)
        return (await Case.get(number=number)).status

    async def run_until(self, moment: datetime) -> None:
        """Let time pass up to `moment`, firing timers as they come due (as a running worker would)."""
        while True:
            await self.timers.fire_due()
            upcoming = await self.timer_store.next_due_at()
            if upcoming is None or upcoming > moment:
                break
            self.clock.set(max(upcoming, self.clock.now()))
        self.clock.set(moment)
        await self.timers.fire_due()

    async def deliver(self) -> None:
        while await self.outbox.deliver_due():
            pass

    async def timeline(self, number: str) -> list[tuple[str, str]]:
        return [(item.metric, item.kind) for item in await self.sla_store.timeline(number)]

    async def events(self, number: str) -> list[SlaEventItem]:
        return await self.sla_store.timeline(number)


def build_room(
    database_url: str, slack: FakeSlackApi, start: datetime, data_dir: Path, policies: str = POLICIES,
    transcript_channels: tuple[str, ...] = (),
) -> LifecycleRoom:
    """The room; `transcript_channels`: channels whose replies only go to the transcript (web chat's way)."""
    row_locks = supports_row_locks(database_url)
    clock = ManualClock(start)
    holder = PolicyHolder(parse_sla_policies(policies, "test-sla.yaml"))
    parts = build_lifecycle(
        policies=holder, row_locks=row_locks, clock=clock, worker_name="test-worker",
        team_channels={"general": TEAM_CHANNEL},
    )
    desk_store = TortoiseDeskStore()
    desk = DeskService(desk_store, parse_routing(ROUTING, "routing.yaml"), observer=parts.observer)
    # The desk exists after the room (it observes it): a low score reopens through the desk.
    assert parts.digest is not None
    parts.csat.use_reopener(desk)
    parts.housekeeping.use_closer(desk)
    parts.duplicates.use_resolver(desk)
    flows = FlowRegistry("complaint")
    flows.reload()
    intake = IntakeService(
        flows=flows,
        store=TortoiseIntakeStore(lock_rows=row_locks),
        evidence=LocalEvidenceStore(data_dir / "evidence"),
        analyzer=NoProposals(),
        desk_enabled=True,
        surveys=parts.answers,
        case_observer=parts.observer,
    )
    channels: dict[str, Channel] = {name: TranscriptChannel(name) for name in transcript_channels}
    client = AsyncWebClient(token=slack.token, base_url=slack.base_url)
    handlers = {
        "message": ChannelDelivery(channels),
        "desk": SlackDeskNotifier(client, desk, desk_store, lambda evidence_id: f"https://plaint.example/e/{evidence_id}"),
        OUTBOX_KIND: SlackCaseThreadDelivery(
            client, parts.sla_store, lambda evidence_id: f"https://plaint.example/e/{evidence_id}"
        ),
    }
    return LifecycleRoom(
        clock=clock,
        desk=desk,
        sla=parts.sla,
        priorities=parts.priorities,
        csat=parts.csat,
        digest=parts.digest,
        duplicates=parts.duplicates,
        intake=intake,
        sla_store=parts.sla_store,
        timers=parts.timer_worker,
        timer_store=parts.timer_store,
        outbox=OutboxWorker(TortoiseOutbox(skip_locked=row_locks), handlers),
        policies=holder,
        channels=channels,
    )


@asynccontextmanager
async def wechat_channel(room: LifecycleRoom) -> AsyncIterator[FakeWeChatApi]:
    """The room's WeChat channel, talking to a fake WeChat API on 127.0.0.1 (what it received: `sent_texts`)."""
    fake = FakeWeChatApi(app_id="wxapp", app_secret="secret")
    base_url = await fake.start()
    try:
        async with aiohttp.ClientSession() as http:
            api = WeChatApiClient(http, base_url, "wxapp", "secret", TortoiseSharedTokenStore())
            room.channels["wechat"] = WeChatChannel(api, PassiveReplyService(TortoiseOutbox(skip_locked=False)))
            yield fake
    finally:
        await fake.close()


@asynccontextmanager
async def telegram_in(room: LifecycleRoom, token: str) -> AsyncIterator[tuple[FakeTelegramBotApi, Bot]]:
    """The room's Telegram channel on a fake Bot API on 127.0.0.1: (the fake, the bot its channel sends with)."""
    async with running_fake_bot_api(token) as (fake, url):
        base_url, base_file_url = bot_api_urls(url)
        async with Bot(token, base_url=base_url, base_file_url=base_file_url) as bot:
            room.channels["telegram"] = TelegramChannel(bot)
            yield fake, bot
