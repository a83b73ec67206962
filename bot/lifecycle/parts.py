"""The lifecycle room's parts, built together for the composition root (which wires them to the desk, the
intake service, the outbox handlers and the background tasks; see `build_lifecycle`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.lifecycle.case_lifecycle import CaseLifecycle, PriorityService
from bot.lifecycle.case_thread import OutboxCaseThreadNotifier
from bot.lifecycle.clock import Clock, SystemClock
from bot.lifecycle.csat import TIMER_KIND as CSAT_TIMER_KIND
from bot.lifecycle.csat import CsatService
from bot.lifecycle.digest import TIMER_KIND as DIGEST_TIMER_KIND
from bot.lifecycle.digest import DigestService
from bot.lifecycle.duplicates import DuplicateService
from bot.lifecycle.housekeeping import TIMER_KIND as HOUSEKEEPING_TIMER_KIND
from bot.lifecycle.housekeeping import HousekeepingService
from bot.lifecycle.sla import TIMER_KIND as SLA_TIMER_KIND
from bot.lifecycle.sla import SlaService
from bot.lifecycle.sla_policy import SlaPolicies
from bot.lifecycle.survey_port import CustomerAnswers
from bot.lifecycle.timers import TimerHandler, TimerWorker
from storage.case_links import TortoiseCaseLinks
from storage.csat import TortoiseCsatStore
from storage.customer_messages import TortoiseCustomerMessages
from storage.digest import TortoiseDigestStore
from storage.priority import TortoisePriorityStore
from storage.sla import TortoiseSlaStore
from storage.timers import TortoiseTimerStore


@dataclass(frozen=True)
class LifecycleParts:
    sla_store: TortoiseSlaStore
    timer_store: TortoiseTimerStore
    sla: SlaService
    priorities: PriorityService
    csat: CsatService
    housekeeping: HousekeepingService
    # Possible duplicates: `duplicates.use_resolver(desk)` once the desk is built.
    duplicates: DuplicateService
    # The intake's `surveys` hook: the duplicate question first, then the satisfaction survey.
    answers: CustomerAnswers
    # None without a desk (no team channels); else call `await digest.ensure_scheduled()` at start-up.
    digest: DigestService | None
    # DeskService(store, routing, observer=...) : the desk tells the room about every case change.
    observer: CaseLifecycle
    # Run as a background task beside the outbox worker (one per process; they share the work).
    timer_worker: TimerWorker


def build_lifecycle(
    *,
    policies: Callable[[], SlaPolicies],
    row_locks: bool,
    clock: Clock | None = None,
    timer_poll_interval: float = 1.0,
    worker_name: str | None = None,
    team_channels: Mapping[str, str] | None = None,
    on_timer_fired: Callable[[str, float], None] | None = None,
    other_timers: Mapping[str, TimerHandler] | None = None,
) -> LifecycleParts:
    """Everything but the Slack delivery (built beside the desk's notifier: `slack_delivery`) and the desk
    itself, which is handed over once built: `csat.use_reopener(desk)`, `housekeeping.use_closer(desk)`,
    `duplicates.use_resolver(desk)`.
    `other_timers`: handlers of other rooms' timer kinds (insight's spike watch, retention), fired by the same
    worker."""
    clock = clock or SystemClock()
    sla_store = TortoiseSlaStore(lock_rows=row_locks)
    timers = TortoiseTimerStore(skip_locked=row_locks)
    notifier = OutboxCaseThreadNotifier()
    sla = SlaService(store=sla_store, timers=timers, policies=policies, clock=clock, notifier=notifier)
    priorities = PriorityService(TortoisePriorityStore(), sla_store, policies)
    customer_messages = TortoiseCustomerMessages()
    csat = CsatService(
        store=TortoiseCsatStore(), messages=customer_messages, sla_store=sla_store, timers=timers,
        settings=lambda: policies().csat, clock=clock, notifier=notifier,
    )
    housekeeping = HousekeepingService(
        messages=customer_messages, sla_store=sla_store, timers=timers,
        settings=lambda: policies().housekeeping, clock=clock,
    )
    duplicates = DuplicateService(
        store=TortoiseCaseLinks(), messages=customer_messages, sla_store=sla_store,
        settings=lambda: policies().duplicates, clock=clock, notifier=notifier,
    )
    handlers: dict[str, TimerHandler] = {
        SLA_TIMER_KIND: sla, CSAT_TIMER_KIND: csat, HOUSEKEEPING_TIMER_KIND: housekeeping,
    }
    digest = None
    if team_channels is not None:
        digest = DigestService(
            store=TortoiseDigestStore(), timers=timers, policies=policies, team_channels=team_channels, clock=clock,
            notifier=notifier,
        )
        handlers[DIGEST_TIMER_KIND] = digest
    handlers.update(other_timers or {})
    worker = TimerWorker(
        timers, handlers, clock,
        name=worker_name,
        poll_interval=timer_poll_interval,
        on_fired=on_timer_fired,
    )
    return LifecycleParts(
        sla_store=sla_store,
        timer_store=timers,
        sla=sla,
        priorities=priorities,
        csat=csat,
        housekeeping=housekeeping,
        duplicates=duplicates,
        answers=CustomerAnswers(duplicates, csat, reads_traditional=customer_messages.customer_reads_traditional),
        digest=digest,
        observer=CaseLifecycle(
            priorities=priorities, sla=sla, csat=csat, housekeeping=housekeeping, duplicates=duplicates
        ),
        timer_worker=worker,
    )
