"""Fixtures for the flow engine's unit tests: the shipped default flow and a conversation driver."""

from __future__ import annotations

import pytest

from flows import Flow, default_flow_path, load_flow
from tests.unit.flows.flow_driver import Conversation


@pytest.fixture(scope="session")
def complaint_flow() -> Flow:
    return load_flow(default_flow_path())


@pytest.fixture
def conversation(complaint_flow: Flow) -> Conversation:
    return Conversation(complaint_flow)
