"""The flows Plaint serves: the shipped definitions plus an admin directory, reloadable without a restart.
A broken file is refused with its file, step and reason, and the last valid version keeps serving."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from bot.errors import PlaintError
from flows import ConversationState, Flow, FlowError, load_flow

log = logging.getLogger(__name__)


class UnknownFlow(PlaintError):
    def __init__(self, flow_id: str) -> None:
        super().__init__(f"no flow named {flow_id!r}")
        self.flow_id = flow_id


def shipped_flow_files() -> list[Path]:
    directory = Path(str(resources.files("flows") / "definitions"))
    return sorted(directory.glob("*.yaml"))


class FlowRegistry:
    def __init__(self, default_flow_id: str, extra_dir: Path | None = None) -> None:
        self.default_flow_id = default_flow_id
        self._extra_dir = extra_dir
        # Every version ever loaded stays available: a conversation finishes on the version it began with.
        self._versions: dict[tuple[str, int], Flow] = {}
        self._current: dict[str, Flow] = {}
        self.errors: list[FlowError] = []

    def files(self) -> list[Path]:
        files = shipped_flow_files()
        if self._extra_dir is not None and self._extra_dir.is_dir():
            files += sorted(self._extra_dir.glob("*.yaml")) + sorted(self._extra_dir.glob("*.yml"))
        return files

    def reload(self) -> list[FlowError]:
        errors: list[FlowError] = []
        for path in self.files():
            try:
                flow = load_flow(path)
            except FlowError as error:
                log.error("flow refused, keeping the last valid version: %s", error)
                errors.append(error)
                continue
            self._versions[(flow.id, flow.version)] = flow
            current = self._current.get(flow.id)
            if current is None or flow.version >= current.version:
                self._current[flow.id] = flow
        self.errors = errors
        if self.default_flow_id not in self._current:
            raise UnknownFlow(self.default_flow_id)
        return errors

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
