"""The running application's parts, built once at start-up and handed to channels and the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from bot.analysis import ThreadedAnalyzer
from bot.channels.base import Channel
from bot.config import Settings
from bot.evidence_links import EvidenceLinks, evidence_secret
from bot.flow_registry import FlowRegistry
from bot.intake import IntakeService, ProposalSource
from bot.operations.metrics import MeteredIntake, PlaintMetrics
from bot.outbox import ChannelDelivery, OutboxHandler, OutboxWorker
from storage.database import is_postgres, open_database
from storage.evidence import LocalEvidenceStore
from storage.intake import TortoiseIntakeStore
from storage.outbox import TortoiseOutbox


@dataclass
class Services:
    settings: Settings
    flows: FlowRegistry
    evidence: LocalEvidenceStore
    intake: IntakeService
    outbox: TortoiseOutbox
    evidence_links: EvidenceLinks
    channels: dict[str, Channel] = field(default_factory=dict)
    handlers: dict[str, OutboxHandler] = field(default_factory=dict)
    worker: OutboxWorker | None = None

    def build_worker(self) -> OutboxWorker:
        self.handlers.setdefault("message", ChannelDelivery(self.channels))
        self.worker = OutboxWorker(self.outbox, self.handlers, self.settings.outbox_poll_interval)
        return self.worker


@asynccontextmanager
async def open_services(
    settings: Settings,
    analyzer: ProposalSource | None = None,
    *,
    desk_enabled: bool = False,
    metrics: PlaintMetrics | None = None,
) -> AsyncIterator[Services]:
    """The ORM is opened first: tasks started before it cannot use it (LIBRARY-NOTES)."""
    database_url = settings.effective_database_url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    flows = FlowRegistry(settings.flow_id, settings.flows_dir)
    flows.reload()
    evidence = LocalEvidenceStore(settings.evidence_dir)
    async with open_database(database_url):
        postgres = is_postgres(database_url)
        store = TortoiseIntakeStore(lock_rows=postgres)
        proposals = analyzer or ThreadedAnalyzer.load_default()
        timezone = ZoneInfo(settings.timezone)
        # The server passes metrics: its turns and NLP step are counted and timed (bot/operations/metrics.py).
        intake = (
            IntakeService(flows=flows, store=store, evidence=evidence, analyzer=proposals,
                          desk_enabled=desk_enabled, timezone=timezone)
            if metrics is None
            else MeteredIntake(metrics=metrics, flows=flows, store=store, evidence=evidence, analyzer=proposals,
                               desk_enabled=desk_enabled, timezone=timezone)
        )
        links = EvidenceLinks(
            evidence_secret(settings.evidence_secret.get_secret_value(), settings.data_dir), settings.public_url
        )
        yield Services(settings, flows, evidence, intake, TortoiseOutbox(skip_locked=postgres), links)
