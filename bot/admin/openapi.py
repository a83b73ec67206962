"""The OpenAPI 3.1 document of /api/v1, generated from the endpoint table and the pydantic models that
validate the requests, so the document cannot drift from what the server accepts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any, Protocol

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bot.admin.models import ErrorDocument
from bot.admin.roles import Permission


class Endpoint(Protocol):
    """What the document reads of an API endpoint (bot/admin/api.py's table)."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def permission(self) -> Permission: ...
    @property
    def summary(self) -> str: ...
    @property
    def handler(self) -> Any: ...
    @property
    def response(self) -> type[BaseModel]: ...
    @property
    def body(self) -> type[BaseModel] | None: ...
    @property
    def query(self) -> type[BaseModel] | None: ...
    @property
    def yaml_body(self) -> bool: ...
    @property
    def csv_body(self) -> bool: ...
    @property
    def errors(self) -> tuple[int, ...]: ...

_REF = "#/components/schemas/{model}"


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent rather than null: drop the null branch of an optional field."""
    options = schema.get("anyOf")
    if isinstance(options, list):
        rest = [option for option in options if option.get("type") != "null"]
        if len(rest) == 1:
            merged = {**schema, **rest[0]}
            merged.pop("anyOf", None)
            merged.pop("default", None)
            return merged
    return schema


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _without_null(dict(prop))}
        for name, prop in schema.get("properties", {}).items()
    ]


def _path_parameters(path: str) -> list[dict[str, Any]]:
    schemas = {
        "flow_id": {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"},
        "version": {"type": "integer", "minimum": 1, "maximum": 999999999},
        "number": {"type": "string", "minLength": 1, "maxLength": 32, "pattern": r"^[A-Za-z0-9-]+$"},
        **{name: {"type": "integer", "minimum": 1, "maximum": 999999999}
           for name in ("webhook_id", "delivery_id", "view_id")},
    }
    return [{"name": name, "in": "path", "required": True, "schema": schemas[name]}
            for name in re.findall(r"{(\w+)}", path)]


def openapi_document(endpoints: Sequence[Endpoint], prefix: str) -> dict[str, Any]:
    return _document(tuple(endpoints), prefix)


@cache
def _document(endpoints: tuple[Endpoint, ...], prefix: str) -> dict[str, Any]:
    models: set[type[BaseModel]] = {ErrorDocument}
    for endpoint in endpoints:
        models.add(endpoint.response)
        if endpoint.body is not None:
            models.add(endpoint.body)
    keyed = [(model, "validation" if model in {e.body for e in endpoints} else "serialization")
             for model in sorted(models, key=lambda m: m.__name__)]
    # Request and response models are distinct classes here, so one mode per model is enough.
    _, definitions = models_json_schema(keyed, ref_template=_REF, by_alias=True)  # type: ignore[arg-type]
    error_ref = {"$ref": _REF.format(model="ErrorDocument")}
    paths: dict[str, dict[str, Any]] = {}
    descriptions = {401: "Authentication required", 403: "The role may not do this, or the CSRF token is wrong",
                    404: "Not found", 409: "Not possible in the current state", 422: "Invalid input: every problem"}
    for endpoint in endpoints:
        operation: dict[str, Any] = {
            "summary": endpoint.summary,
            "operationId": endpoint.handler.__name__,
            "parameters": _path_parameters(endpoint.path)
            + (_query_parameters(endpoint.query) if endpoint.query else []),
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {
                    "schema": {"$ref": _REF.format(model=endpoint.response.__name__)}}}},
                **{str(status): {"description": descriptions[status],
                                 "content": {"application/json": {"schema": error_ref}}}
                   for status in endpoint.errors},
            },
            "x-required-permission": endpoint.permission.value,
        }
        if endpoint.body is not None:
            body_schema = {"$ref": _REF.format(model=endpoint.body.__name__)}
            content: dict[str, Any] = {"application/json": {"schema": body_schema}}
            if endpoint.yaml_body:
                content["application/yaml"] = {"schema": {"type": "string"}}
            if endpoint.csv_body:
                content["text/csv"] = {"schema": {"type": "string"}}
            operation["requestBody"] = {"required": True, "content": content}
        paths.setdefault(prefix + endpoint.path, {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Plaint admin API", "version": "1",
                 "description": "Flows, cases, the audit log, the catalog, categories, routing, SLA policies, "
                                "webhook subscriptions and saved case views. Bearer token "
                                "(`plaint admin token create`) or a console session (unsafe methods then need the "
                                "X-CSRF-Token header)."},
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "plaint_admin"},
            },
        },
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
    }
