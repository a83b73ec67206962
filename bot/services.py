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
from bot.outbox import ChannelDelivery, OutboxHandler, OutboxWorker
from bot.privacy.keys import install_data_keyring
from storage.database import open_database, supports_row_locks
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
    settings: Settings, analyzer: ProposalSource | None = None, *, desk_enabled: bool = False
) -> AsyncIterator[Services]:
    """The ORM is opened first: tasks started before it cannot use it (LIBRARY-NOTES)."""
    database_url = settings.effective_database_url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    flows = FlowRegistry(settings.flow_id, settings.flows_dir)
    flows.reload()
    install_data_keyring(settings)  # personal data is encrypted at rest (bot/privacy)
    evidence = LocalEvidenceStore(settings.evidence_dir)
    async with open_database(database_url):
        postgres = supports_row_locks(database_url)  # PostgreSQL or MariaDB/MySQL
        intake = IntakeService(
            flows=flows,
            store=TortoiseIntakeStore(lock_rows=postgres),
            evidence=evidence,
            analyzer=analyzer or ThreadedAnalyzer.load_default(),
            desk_enabled=desk_enabled,
            timezone=ZoneInfo(settings.timezone),
        )
        links = EvidenceLinks(
            evidence_secret(settings.evidence_secret.get_secret_value(), settings.data_dir), settings.public_url
        )
        yield Services(settings, flows, evidence, intake, TortoiseOutbox(skip_locked=postgres), links)
