"""The flows Plaint serves. With a database attached (the server, the CLI), flows live there as immutable
published versions shared by every worker: the shipped YAML (and PLAINT_FLOWS_DIR) only seed a flow the
database does not have yet, and each worker notices a newly published version within REFRESH_SECONDS by
one cheap query (no SIGHUP, no restart). Without a database, files are the flows (tests, validation).
Every version ever seen stays available: a conversation finishes on the version it began with."""

from __future__ import annotations

import logging
import time
from importlib import resources
from pathlib import Path
from typing import Protocol

from bot.errors import PlaintError
from flows import ConversationState, Flow, FlowError, load_flow

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0


class UnknownFlow(PlaintError):
    def __init__(self, flow_id: str) -> None:
        super().__init__(f"no flow named {flow_id!r}")
        self.flow_id = flow_id


class PublishedFlowSource(Protocol):
    """Where published versions live (storage.flow_versions.TortoiseFlowVersions)."""

    async def latest_versions(self) -> dict[str, int]: ...

    async def definition(self, flow_id: str, version: int) -> dict[str, object] | None: ...

    async def seed(self, flow_id: str, version: int, definition: dict[str, object], source: str) -> bool: ...


def shipped_flow_files() -> list[Path]:
    directory = Path(str(resources.files("flows") / "definitions"))
    return sorted(directory.glob("*.yaml"))


class FlowRegistry:
    def __init__(self, default_flow_id: str, extra_dir: Path | None = None) -> None:
        self.default_flow_id = default_flow_id
        self._extra_dir = extra_dir
        self._versions: dict[tuple[str, int], Flow] = {}
        self._current: dict[str, Flow] = {}
        self.errors: list[FlowError] = []
        self._source: PublishedFlowSource | None = None
        self._checked_at = 0.0

    def files(self) -> list[Path]:
        files = shipped_flow_files()
        if self._extra_dir is not None and self._extra_dir.is_dir():
            files += sorted(self._extra_dir.glob("*.yaml")) + sorted(self._extra_dir.glob("*.yml"))
        return files

    def reload(self) -> list[FlowError]:
        if self._source is not None:
            log.warning("flows live in the database: publish in /admin or with `plaint flows import FILE`")
            return []
        errors: list[FlowError] = []
        for path in self.files():
            try:
                flow = load_flow(path)
            except FlowError as error:
                log.error("flow refused, keeping the last valid version: %s", error)
                errors.append(error)
                continue
            self._remember(flow)
        self.errors = errors
        if self.default_flow_id not in self._current:
            raise UnknownFlow(self.default_flow_id)
        return errors

    def _remember(self, flow: Flow) -> None:
        self._versions[(flow.id, flow.version)] = flow
        current = self._current.get(flow.id)
        if current is None or flow.version >= current.version:
            self._current[flow.id] = flow

    async def attach(self, source: PublishedFlowSource) -> None:
        """Serve the database's published flows from now on; files seed flows it does not have yet."""
        if not self._current:
            self.reload()
        for flow in list(self._current.values()):
            definition = flow.model_dump(mode="json", by_alias=True, exclude_defaults=True)
            if await source.seed(flow.id, flow.version, definition, "seed"):
                log.info("flow %s version %s seeded into the database", flow.id, flow.version)
        self._source = source
        self._current = {}
        await self.refresh(force=True)
        if self.default_flow_id not in self._current:
            raise UnknownFlow(self.default_flow_id)

    async def refresh(self, force: bool = False) -> None:
        """Pick up versions other workers published; at most one query per REFRESH_SECONDS."""
        if self._source is None or (not force and time.monotonic() - self._checked_at < REFRESH_SECONDS):
            return
        self._checked_at = time.monotonic()
        for flow_id, version in (await self._source.latest_versions()).items():
            current = self._current.get(flow_id)
            if current is None or current.version != version:
                flow = await self._load(flow_id, version)
                if flow is not None:
                    self._current[flow_id] = flow

    async def _load(self, flow_id: str, version: int) -> Flow | None:
        known = self._versions.get((flow_id, version))
        if known is not None or self._source is None:
            return known
        definition = await self._source.definition(flow_id, version)
        if definition is None:
            return None
        try:
            flow = Flow.model_validate(definition)
        except ValueError as error:
            # Published versions were validated when published; a newer Plaint may read them stricter.
            log.error("published flow %s version %s no longer validates: %s", flow_id, version, error)
            return None
        self._versions[(flow_id, version)] = flow
        return flow

    async def resolve(self, state: ConversationState | None) -> Flow:
        """The flow for a turn: the conversation's own version, or the newest for a new conversation."""
        await self.refresh()
        if state is not None and (state.flow_id, state.flow_version) not in self._versions:
            await self._load(state.flow_id, state.flow_version)
        return self.for_state(state)

    async def version(self, flow_id: str, version: int) -> Flow | None:
        return await self._load(flow_id, version)

    def flow_ids(self) -> list[str]:
        return sorted(self._current)

    def current(self, flow_id: str | None = None) -> Flow:
        flow_id = flow_id or self.default_flow_id
        try:
            return self._current[flow_id]
        except KeyError:
            raise UnknownFlow(flow_id) from None

    def for_state(self, state: ConversationState | None) -> Flow:
        if state is None:
            return self.current()
        return self._versions.get((state.flow_id, state.flow_version)) or self.current(state.flow_id)
