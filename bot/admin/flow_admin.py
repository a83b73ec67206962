"""Flows as editors work on them: one draft per flow, immutable published versions, diff and rollback.
Every change is validated in full (every problem at once) and written to the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.admin.audit import Actor, AuditTrail
from bot.admin.errors import AdminError, FlowInvalid, FlowNotFound, FlowProblem
from bot.admin.flow_checks import check_flow
from bot.admin.flow_diff import describe_changes
from bot.flow_registry import FlowRegistry
from flows import Flow
from storage.flow_versions import StoredFlowVersion, TortoiseFlowVersions


class NothingToPublish(AdminError):
    def __init__(self, flow_id: str) -> None:
        super().__init__(f"flow {flow_id!r} has no draft to publish")
        self.flow_id = flow_id


@dataclass(frozen=True)
class VersionInfo:
    version: int
    published_by: str
    note: str
    created_at: datetime


@dataclass(frozen=True)
class FlowSummary:
    flow_id: str
    title_en: str
    title_zh: str
    published_version: int | None
    has_draft: bool


@dataclass(frozen=True)
class DraftInfo:
    definition: dict[str, Any]
    updated_by: str
    updated_at: datetime
    problems: tuple[FlowProblem, ...]


@dataclass(frozen=True)
class FlowDetail:
    flow_id: str
    published: dict[str, Any] | None
    published_version: int | None
    draft: DraftInfo | None
    versions: tuple[VersionInfo, ...]


def _canonical(definition: dict[str, Any]) -> dict[str, Any]:
    """One spelling of a definition (defaults left out), so a diff shows changes, not formatting."""
    try:
        return Flow.model_validate(definition).model_dump(mode="json", by_alias=True, exclude_defaults=True)
    except ValueError:
        return definition


def _info(row: StoredFlowVersion) -> VersionInfo:
    return VersionInfo(row.version, row.published_by, row.note, row.created_at)


class FlowAdmin:
    def __init__(self, registry: FlowRegistry, store: TortoiseFlowVersions, audit: AuditTrail) -> None:
        self._registry = registry
        self._store = store
        self._audit = audit

    async def summaries(self) -> list[FlowSummary]:
        latest = await self._store.latest_versions()
        summaries: list[FlowSummary] = []
        for flow_id in sorted(latest):
            row = await self._store.get(flow_id, latest[flow_id])
            title = row.definition.get("title") or {}
            draft = await self._store.draft(flow_id)
            summaries.append(
                FlowSummary(flow_id, str(title.get("en", flow_id)), str(title.get("zh", flow_id)), row.version,
                            draft is not None)
            )
        return summaries

    async def detail(self, flow_id: str) -> FlowDetail:
        versions = await self._store.versions(flow_id)
        draft = await self._store.draft(flow_id)
        if not versions and draft is None:
            raise FlowNotFound(flow_id)
        latest = versions[-1] if versions else None
        draft_info = None
        if draft is not None:
            _, problems = check_flow(draft.definition)
            draft_info = DraftInfo(draft.definition, draft.updated_by, draft.updated_at, problems)
        return FlowDetail(
            flow_id,
            latest.definition if latest else None,
            latest.version if latest else None,
            draft_info,
            tuple(_info(row) for row in versions),
        )

    async def working_copy(self, flow_id: str) -> dict[str, Any]:
        """What the editor opens: the draft, else the newest published version."""
        detail = await self.detail(flow_id)
        if detail.draft is not None:
            return detail.draft.definition
        assert detail.published is not None
        return detail.published

    def normalise(self, flow_id: str, definition: dict[str, Any], next_version: int) -> dict[str, Any]:
        return {**definition, "id": definition.get("id", flow_id), "version": next_version}

    async def check(self, flow_id: str, definition: dict[str, Any]) -> tuple[Flow | None, tuple[FlowProblem, ...]]:
        latest = await self._store.latest(flow_id)
        document = self.normalise(flow_id, definition, (latest.version if latest else 0) + 1)
        flow, problems = check_flow(document)
        if document.get("id") != flow_id:
            problems = (FlowProblem(None, "id", f"the flow id must stay '{flow_id}'"), *problems)
            flow = None
        return flow, problems

    async def save_draft(self, flow_id: str, definition: dict[str, Any], actor: Actor) -> tuple[FlowProblem, ...]:
        """Store the draft when it has no errors; raise FlowInvalid listing every problem otherwise."""
        flow, problems = await self.check(flow_id, definition)
        if flow is None:
            raise FlowInvalid(problems)
        document = flow.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        previous = await self._store.draft(flow_id)
        base = previous.definition if previous else (await self._published_definition(flow_id))
        await self._store.save_draft(flow_id, document, actor.name)
        await self._audit.record(actor, "flow.draft_saved", "flow", flow_id, base, document)
        return problems

    async def _published_definition(self, flow_id: str) -> dict[str, Any] | None:
        latest = await self._store.latest(flow_id)
        return latest.definition if latest else None

    async def publish(self, flow_id: str, actor: Actor) -> int:
        draft = await self._store.draft(flow_id)
        if draft is None:
            raise NothingToPublish(flow_id)
        flow, problems = await self.check(flow_id, draft.definition)
        if flow is None:
            raise FlowInvalid(problems)
        return await self._publish(flow_id, draft.definition, actor, "flow.published", "")

    async def _publish(self, flow_id: str, definition: dict[str, Any], actor: Actor, action: str, note: str) -> int:
        before = await self._published_definition(flow_id)
        number = await self._store.publish(flow_id, definition, actor.name, note)
        await self._store.delete_draft(flow_id)
        after = (await self._store.get(flow_id, number)).definition
        await self._audit.record(actor, action, "flow", flow_id, before, after)
        await self._registry.refresh(force=True)
        return number

    async def version(self, flow_id: str, version: int) -> dict[str, Any]:
        definition = await self._store.definition(flow_id, version)
        if definition is None:
            raise FlowNotFound(flow_id, version)
        return definition

    async def diff(self, flow_id: str, from_version: int, to_version: int) -> list[str]:
        before, after = await self.version(flow_id, from_version), await self.version(flow_id, to_version)
        return describe_changes(_canonical(before), _canonical(after))

    async def rollback(self, flow_id: str, version: int, actor: Actor) -> int:
        """Publish a copy of an earlier version as the newest: history only ever grows."""
        definition = await self.version(flow_id, version)
        flow, problems = check_flow(definition)
        if flow is None:
            raise FlowInvalid(problems)
        return await self._publish(flow_id, definition, actor, "flow.rolled_back", f"rollback to version {version}")

    async def import_flow(self, definition: dict[str, Any], actor: Actor, *, draft_only: bool) -> int | None:
        flow_id = str(definition.get("id") or "")
        flow, problems = check_flow(self.normalise(flow_id, definition, 1))
        if flow is None or not flow_id:
            raise FlowInvalid(problems or (FlowProblem(None, "id", "missing"),))
        await self.save_draft(flow_id, definition, actor)
        if draft_only:
            return None
        return await self.publish(flow_id, actor)

    async def export(self, flow_id: str, version: int | None, actor: Actor) -> dict[str, Any]:
        if version is None:
            latest = await self._store.latest(flow_id)
            if latest is None:
                raise FlowNotFound(flow_id)
            version = latest.version
        definition = await self.version(flow_id, version)
        await self._audit.record(actor, "flow.exported", "flow", flow_id, None, {"version": version})
        return definition
