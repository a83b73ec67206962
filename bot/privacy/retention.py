"""Retention: a YAML policy (a period per data class), a dry run that says what would go, and the run itself,
from `plaint privacy retention` or from a daily timer claimed by whichever worker is free; every run that
removes something is in the audit log.

The policy names a period per data class; a class left out is kept for ever, and without a policy nothing is
ever removed but settled outbox rows (after the transcripts' period, else SETTLED_OUTBOX_DAYS). It is YAML,
edited in the console (stored in the database, shared by every worker) or, until someone saves it there, read
from PLAINT_RETENTION_FILE:

    evidence: {after_days: 180}
    transcripts: {after_days: 365}
    closed_cases: {after_days: 730, action: anonymise}   # or delete
    audit_log: {after_days: 730}
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.errors import ConfigurationError
from storage.audit import TortoiseAuditLog
from storage.evidence import LocalEvidenceStore
from storage.privacy import delete_unreferenced_files, sweep_unreferenced_files
from storage.retention import (
    RetentionCutoffs,
    RetentionOutcome,
    apply_retention,
    bring_retention_run_forward,
    retention_pending,
    retention_preview,
    store_policy_text,
    stored_policy_text,
)
from storage.timers import DueTimer, JsonValue, NewTimer, TortoiseTimerStore

log = logging.getLogger(__name__)

TIMER_KIND = "retention"
TIMER_KEY = "retention"
# The same kind, another key: the files a run's committed transaction no longer refers to, deleted by a timer of
# their own once that transaction committed (a timer's run cannot delete files: its transaction may still roll
# back). A daily sweep also removes files nothing refers to that a crash at the wrong moment left behind.
FILES_TIMER_KEY = "retention-files"
SWEEP_OLDER_THAN = timedelta(days=1)
# A timer's run is one transaction per batch: a few batches per class, then the next run continues.
TIMER_BATCHES = 4
TIMER_BATCH_SIZE = 200
DAILY = timedelta(days=1)
# Settled outbox rows (sent or given up) keep the recipient's address and the text: they go after the
# transcripts' period, or after this when the policy names none (a platform retries a message for hours, an
# operator looks at a dead letter within days; a month covers both).
SETTLED_OUTBOX_DAYS = 30
SOON = timedelta(minutes=1)


class RetentionPolicyError(ConfigurationError):
    """The retention file cannot be used; the message names the file, the line and the field."""


class RetentionRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    after_days: int = Field(ge=1, le=36500)


class CaseRetentionRule(RetentionRule):
    action: Literal["anonymise", "delete"] = "anonymise"


class RetentionPolicy(BaseModel):
    """A period per data class; None: kept for ever."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    evidence: RetentionRule | None = None
    transcripts: RetentionRule | None = None
    closed_cases: CaseRetentionRule | None = None
    audit_log: RetentionRule | None = None

    @property
    def empty(self) -> bool:
        return all(rule is None for rule in (self.evidence, self.transcripts, self.closed_cases, self.audit_log))

    def cutoffs(self, now: datetime) -> RetentionCutoffs:
        def before(rule: RetentionRule | None) -> datetime | None:
            return None if rule is None else (now - timedelta(days=rule.after_days)).astimezone(UTC)

        return RetentionCutoffs(
            evidence=before(self.evidence),
            transcripts=before(self.transcripts),
            closed_cases=before(self.closed_cases),
            closed_cases_action=self.closed_cases.action if self.closed_cases else "anonymise",
            audit_log=before(self.audit_log),
            settled_outbox=(now - timedelta(
                days=self.transcripts.after_days if self.transcripts else SETTLED_OUTBOX_DAYS)).astimezone(UTC),
        )


def _line_of(node: yaml.Node | None, location: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at a pydantic error location (the closest one that exists)."""
    line = None if node is None else node.start_mark.line + 1
    for part in location:
        if not isinstance(node, yaml.MappingNode):
            break
        child = next((value for key, value in node.value if key.value == part), None)
        if child is None:
            key_node = next((key for key, _ in node.value if key.value == part), None)
            return key_node.start_mark.line + 1 if key_node is not None else line
        node, line = child, child.start_mark.line + 1
    return line


def parse_retention_policy(text: str, source: str) -> RetentionPolicy:
    try:
        node = yaml.compose(text)
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RetentionPolicyError(source, f"not valid YAML: {error}") from None
    if document is None:
        return RetentionPolicy()
    if not isinstance(document, dict):
        raise RetentionPolicyError(source, "must be a mapping of data class: {after_days: N}")
    try:
        return RetentionPolicy.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        location = tuple(first["loc"])
        line = _line_of(node, location)
        where = f"line {line}: " if line else ""
        field = ".".join(str(part) for part in location) or "(top)"
        raise RetentionPolicyError(source, f"{where}{field}: {first['msg']}") from None


def load_retention_policy(path: Path | None) -> RetentionPolicy:
    """No file: nothing is ever removed."""
    if path is None:
        return RetentionPolicy()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RetentionPolicyError(str(path), f"cannot read: {error.strerror or error}") from None
    return parse_retention_policy(text, str(path))


def outcome_document(outcome: RetentionOutcome) -> dict[str, Any]:
    """The report as the audit log and the console keep it (case numbers and counts only)."""
    return {
        "complete": outcome.complete,
        "classes": [
            {**asdict(item), "cutoff": item.cutoff.isoformat(), "examples": list(item.examples)}
            for item in outcome.classes
        ],
    }


class RetentionService:
    def __init__(
        self,
        *,
        policy_file: Path | None,
        evidence: LocalEvidenceStore,
        audit_log: TortoiseAuditLog,
        timers: TortoiseTimerStore | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        use_stored: bool = True,
    ) -> None:
        self._policy_file = policy_file
        self._use_stored = use_stored
        self._evidence = evidence
        self._audit_log = audit_log
        self._timers = timers
        self._now = now

    @property
    def policy_file(self) -> Path | None:
        return self._policy_file

    async def policy_text(self) -> tuple[str, str]:
        """(where the policy comes from, its YAML): the console's saved text, else the file, else nothing."""
        stored = await stored_policy_text() if self._use_stored else None
        if stored is not None:
            return "console", stored
        if self._policy_file is None:
            return "none", ""
        try:
            return str(self._policy_file), self._policy_file.read_text(encoding="utf-8")
        except OSError as error:
            raise RetentionPolicyError(str(self._policy_file), f"cannot read: {error.strerror or error}") from None

    async def policy(self) -> RetentionPolicy:
        # Read on every run: an edited policy applies from the next run, on every worker, without a restart.
        source, text = await self.policy_text()
        return parse_retention_policy(text, source) if text else RetentionPolicy()

    async def save_policy(self, text: str, *, actor: str, via: str) -> RetentionPolicy:
        """Check and store the console's YAML (RetentionPolicyError names the line at fault); audited; the
        daily run is scheduled if it was not."""
        policy = parse_retention_policy(text, "policy")
        _, before = await self.policy_text()
        await store_policy_text(text, actor)
        await self._audit_log.append(
            actor=actor, via=via, source_ip=None, action="retention.policy_changed", object_type="retention",
            object_id="policy", before={"yaml": before}, after={"yaml": text}, changes=["policy changed"],
        )
        await self.ensure_scheduled()
        await bring_retention_run_forward(self._now() + SOON)
        return policy

    async def preview(self, now: datetime | None = None) -> RetentionOutcome:
        return await retention_preview((await self.policy()).cutoffs(now or self._now()))

    async def apply(
        self, *, actor: str, via: str, now: datetime | None = None, max_batches: int | None = None,
        batch_size: int = 500, defer_files: Callable[[set[str]], Awaitable[None]] | None = None,
    ) -> RetentionOutcome:
        policy = await self.policy()
        outcome = await apply_retention(
            policy.cutoffs(now or self._now()), self._evidence, batch_size=batch_size, max_batches=max_batches,
            defer_files=defer_files,
        )
        if outcome.rows:
            await self._audit_log.append(
                actor=actor, via=via, source_ip=None, action="retention.applied", object_type="retention",
                object_id=self._policy_file.name if self._policy_file else "-", before=None,
                after=outcome_document(outcome),
                changes=[f"{item.data_class}: {item.rows} {item.action}d" for item in outcome.classes if item.rows],
            )
        return outcome

    async def _delete_files(self, payload: Mapping[str, JsonValue]) -> None:
        """Runs after the removal that recorded these keys committed; deleting a file twice (this timer retried
        after a crash) is harmless, and a file that a new upload uses again is kept."""
        keys = payload.get("storage_keys")
        if isinstance(keys, list):
            await delete_unreferenced_files(self._evidence, {key for key in keys if isinstance(key, str)})
        if payload.get("sweep") is True:
            swept = await sweep_unreferenced_files(self._evidence, SWEEP_OLDER_THAN.total_seconds())
            if swept:
                log.warning("retention: deleted %d evidence files that no row referred to", swept)

    async def ensure_scheduled(self) -> None:
        """At start-up: one pending retention run (a restart never adds a second). Without a policy it removes
        only settled outbox rows, and still sweeps, daily, the evidence files no row names (an erasure that
        crashed between its commit and its file deletions leaves the person's files behind otherwise)."""
        if self._timers is None or await retention_pending():
            return
        await self._timers.schedule(NewTimer(TIMER_KIND, TIMER_KEY, self._now() + SOON, {}))

    async def fire(self, timer: DueTimer, now: datetime) -> None:
        """The timer's run: a few batches per class inside the timer's transaction, then the next run (soon
        when more is due, tomorrow otherwise); without a policy, only settled outbox rows and the daily sweep.
        The files of the removed rows are not deleted here but recorded as a timer of their own, which fires
        only after this committed."""
        if timer.key == FILES_TIMER_KEY:
            await self._delete_files(timer.payload)
            return
        if self._timers is None:
            return
        timers = self._timers

        async def defer(keys: set[str]) -> None:
            storage_keys: list[JsonValue] = [*sorted(keys)]
            await timers.schedule(NewTimer(TIMER_KIND, FILES_TIMER_KEY, now, {"storage_keys": storage_keys}))

        outcome = await self.apply(actor="retention", via="worker", now=now, max_batches=TIMER_BATCHES,
                                   batch_size=TIMER_BATCH_SIZE, defer_files=defer)
        if outcome.complete:
            await timers.schedule(NewTimer(TIMER_KIND, FILES_TIMER_KEY, now, {"storage_keys": [], "sweep": True}))
        if not await retention_pending(other_than=timer.id):
            await self._timers.schedule(
                NewTimer(TIMER_KIND, TIMER_KEY, now + (DAILY if outcome.complete else SOON), {})
            )
