"""What the desk calls when a case changes: priority rules first (the SLA policy may depend on the
priority), then the SLA clocks, the survey after resolution, reminders and automatic closing. One typed
entry point, so the desk knows nothing of the room behind it."""

from __future__ import annotations

from collections.abc import Callable

from bot.lifecycle.csat import CsatService
from bot.lifecycle.duplicates import DuplicateService
from bot.lifecycle.errors import LifecycleRoomError
from bot.lifecycle.housekeeping import HousekeepingService
from bot.lifecycle.priority import PRIORITY_ORDER, PriorityDecision, PriorityFacts, decide_priority
from bot.lifecycle.sla import SlaService
from bot.lifecycle.sla_policy import SlaPolicies
from storage.priority import TortoisePriorityStore
from storage.sla import TortoiseSlaStore

# Earlier cases older than this never make a complaint a repeat.
REPEAT_LOOKBACK_DAYS = 3650


class UnknownPriority(LifecycleRoomError):
    def __init__(self, value: str) -> None:
        super().__init__(f"unknown priority {value!r} (one of {', '.join(PRIORITY_ORDER)})")
        self.value = value


class PriorityService:
    def __init__(
        self, store: TortoisePriorityStore, sla_store: TortoiseSlaStore, policies: Callable[[], SlaPolicies]
    ) -> None:
        self._store = store
        self._sla_store = sla_store
        self._policies = policies

    async def apply_rules(self, number: str) -> PriorityDecision:
        """Decide a routed case's priority by the rules, unless it has one already (an agent's stays)."""
        current = await self._store.get(number)
        if current is not None:
            return PriorityDecision(current.priority, current.reasons)
        facts = await self._store.input_for(number, REPEAT_LOOKBACK_DAYS)
        decision = decide_priority(
            self._policies().priority,
            PriorityFacts(facts.category, facts.product, facts.text, facts.earlier_cases_days_ago),
        )
        await self._store.set(facts.case_id, decision.priority, "rules", decision.reasons, "plaint")
        await self._sla_store.add_case_event(
            facts.case_id, "priority_set", "plaint", {"priority": decision.priority, "reasons": list(decision.reasons)}
        )
        return decision

    async def set_by_agent(self, number: str, priority: str, actor: str) -> None:
        """An agent's priority replaces the rules' (the running SLA keeps its policy: it started with it)."""
        value = priority.strip().lower()
        if value not in PRIORITY_ORDER:
            raise UnknownPriority(priority)
        facts = await self._store.input_for(number, 0)
        previous = await self._store.get(number)
        await self._store.set(facts.case_id, value, "agent", (), actor)
        await self._sla_store.add_case_event(
            facts.case_id, "priority_set", actor,
            {"priority": value, "from": previous.priority if previous else None, "by": "agent"},
        )


class CaseLifecycle:
    def __init__(
        self,
        *,
        priorities: PriorityService,
        sla: SlaService,
        csat: CsatService | None = None,
        housekeeping: HousekeepingService | None = None,
        duplicates: DuplicateService | None = None,
    ) -> None:
        self._priorities = priorities
        self._sla = sla
        self._csat = csat
        self._housekeeping = housekeeping
        self._duplicates = duplicates

    async def transitioned(self, number: str, action: str, source: str, target: str) -> None:
        if action == "routed":
            await self._priorities.apply_rules(number)
        await self._sla.transitioned(number, action, source, target)
        if action == "routed" and self._duplicates is not None:
            await self._duplicates.case_routed(number)
        # A repeat resolved into the case it repeats is not surveyed: the earlier case will be.
        if action == "resolve" and self._csat is not None and not await self._is_linked_repeat(number):
            await self._csat.case_resolved(number)
        if self._housekeeping is not None:
            await self._housekeeping.transitioned(number, action, source, target)

    async def _is_linked_repeat(self, number: str) -> bool:
        return self._duplicates is not None and await self._duplicates.is_linked_repeat(number)
