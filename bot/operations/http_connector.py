"""The generic connector: any HTTP API (a project tracker's work items, an in-house CRM) described in a YAML
file (PLAINT_CONNECTORS_FILE) with Jinja2 templates rendered in the sandbox. Templates see the case, the
event, the ticket id and `env` (only variables named PLAINT_CONNECTOR_*, so secrets stay out of the file);
they cannot reach Python internals. Bodies must render to JSON; docs/connectors.example.yaml is a worked
example for a PingCode/Worktile-style work-item API."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import aiohttp
import yaml
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.channels.base import PermanentDeliveryError, RetryLater
from bot.errors import ConfigurationError
from bot.operations.connectors import REQUEST_TIMEOUT, JsonObject, answer_or_raise, priority_name
from storage.cases import CaseDetails

ENV_PREFIX = "PLAINT_CONNECTOR_"


class ConnectorConfigError(ConfigurationError):
    """A connectors file that cannot be used; the message names the file, the connector and the field.
    A configuration error: start-up stops with this one line."""


_SANDBOX = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


class RequestTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["GET", "POST", "PUT", "PATCH"] = "POST"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    # Where the ticket id is in the JSON answer, as a dotted path ("data.id"); for create and find.
    ticket_id: str | None = None

    @field_validator("url", "body")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            _SANDBOX.from_string(value)  # a syntax error names the line
        return value


class HttpConnectorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,15}$")
    create: RequestTemplate
    update: RequestTemplate | None = None
    find: RequestTemplate | None = None

    @field_validator("create")
    @classmethod
    def _create_names_the_id(cls, value: RequestTemplate) -> RequestTemplate:
        if value.ticket_id is None:
            raise ValueError("create needs ticket_id: where the new ticket's id is in the answer")
        return value


class ConnectorsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    connectors: list[HttpConnectorConfig] = Field(default_factory=list)


def load_connectors_file(path: Path) -> list[HttpConnector]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        parsed = ConnectorsFile.model_validate(loaded)
    except (OSError, yaml.YAMLError) as error:
        raise ConnectorConfigError(str(path), f"cannot read: {error}") from error
    except (ValidationError, TemplateError) as error:
        raise ConnectorConfigError(str(path), str(error)) from error
    names = [config.name for config in parsed.connectors]
    if len(set(names)) != len(names) or {"zendesk", "freshdesk"} & set(names):
        raise ConnectorConfigError(str(path), "connector names must be unique and not zendesk/freshdesk")
    return [HttpConnector(config) for config in parsed.connectors]


def _case_context(case: CaseDetails, links: Sequence[str]) -> dict[str, Any]:
    return {
        "number": case.number, "status": case.status, "channel": case.channel, "lang": case.lang,
        "name": case.name, "phone": case.phone, "email": case.email, "description": case.description,
        "occurred_at": case.occurred_at, "occurred_where": case.occurred_where, "product": case.product,
        "category": case.category, "expected_resolution": case.expected_resolution, "team": case.team,
        "assignee": case.assignee, "resolution_summary": case.resolution_summary,
        "resolution_code": case.resolution_code, "priority": priority_name(case),
        "created_at": case.created_at.isoformat(), "evidence_links": list(links),
    }


def _dig(document: Any, path: str) -> str | None:
    for part in path.split("."):
        if isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        elif isinstance(document, dict) and part in document:
            document = document[part]
        else:
            return None
    return None if document is None or isinstance(document, dict | list) else str(document)


class HttpConnector:
    def __init__(self, config: HttpConnectorConfig, environ: Mapping[str, str] | None = None) -> None:
        self.name = config.name
        self._config = config
        source = os.environ if environ is None else environ
        self._env = {key[len(ENV_PREFIX):]: value for key, value in source.items() if key.startswith(ENV_PREFIX)}

    def render(self, template: RequestTemplate, context: Mapping[str, Any]) -> tuple[str, dict[str, str], Any]:
        """URL, headers and the JSON body a template gives for this case; a broken template is a dead letter."""
        values = {**context, "env": self._env}
        try:
            url = _SANDBOX.from_string(template.url).render(values).strip()
            headers = {key: _SANDBOX.from_string(value).render(values) for key, value in template.headers.items()}
            body = None
            if template.body is not None:
                body = json.loads(_SANDBOX.from_string(template.body).render(values))
        except (TemplateError, ValueError) as error:
            raise PermanentDeliveryError(f"connector {self.name}: template failed: {error}") from error
        if not url.startswith(("http://", "https://")):
            raise PermanentDeliveryError(f"connector {self.name}: url must be http(s), got {url[:100]!r}")
        return url, headers, body

    async def _send(self, http: aiohttp.ClientSession, template: RequestTemplate, context: Mapping[str, Any]) -> Any:
        url, headers, body = self.render(template, context)
        try:
            async with http.request(
                template.method, url, headers=headers, json=body, timeout=REQUEST_TIMEOUT
            ) as response:
                return await answer_or_raise(response, self.name)
        except (aiohttp.ClientConnectionError, TimeoutError) as error:
            raise RetryLater(f"{self.name} unreachable: {type(error).__name__}") from error

    async def find(self, http: aiohttp.ClientSession, case: CaseDetails) -> str | None:
        template = self._config.find
        if template is None or template.ticket_id is None:
            return None
        answer: JsonObject = await self._send(http, template, {"case": _case_context(case, []), "event": None})
        return _dig(answer, template.ticket_id)

    async def create(self, http: aiohttp.ClientSession, case: CaseDetails, links: Sequence[str]) -> str:
        template = self._config.create
        answer = await self._send(http, template, {"case": _case_context(case, links), "event": "case.filed"})
        ticket_id = _dig(answer, template.ticket_id or "id")
        if ticket_id is None:
            raise PermanentDeliveryError(f"{self.name}: no ticket id at {template.ticket_id!r} in the answer")
        return ticket_id

    async def update(
        self, http: aiohttp.ClientSession, ticket_id: str, case: CaseDetails, event: str, links: Sequence[str]
    ) -> None:
        if self._config.update is None:
            return
        context = {"case": _case_context(case, links), "event": event, "ticket_id": ticket_id}
        await self._send(http, self._config.update, context)
