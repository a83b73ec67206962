"""What changed in a desk settings document, in words the audit log shows: "product air_fryer added",
"team quality: slack_channel changed", "rules changed"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# kind -> (the list of named entries, the key that names one, what one is called)
_ENTRIES: dict[str, tuple[str, str, str]] = {
    "catalog": ("products", "id", "product"),
    "taxonomy": ("categories", "id", "category"),
    "routing": ("teams", "name", "team"),
    "sla": ("policies", "name", "policy"),
}
SETTINGS_KINDS = frozenset(_ENTRIES)
# Settings a document may leave out, as their default: a version saved before the setting existed (or without it)
# has not changed it.
_DEFAULTS: dict[str, dict[str, Any]] = {"catalog": {"services_under_product": True}}


def _changed_paths(before: Any, after: Any, prefix: str = "") -> list[str]:
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        paths: list[str] = []
        for key in sorted(set(before) | set(after), key=str):
            paths += _changed_paths(before.get(key), after.get(key), f"{prefix}{key}.")
        return paths
    return [] if before == after else [prefix.rstrip(".")]


def _named(document: Mapping[str, Any], list_key: str, id_key: str) -> dict[str, Mapping[str, Any]]:
    entries = document.get(list_key)
    if not isinstance(entries, list):
        return {}
    return {str(entry.get(id_key)): entry for entry in entries if isinstance(entry, Mapping)}


def describe_settings_changes(kind: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    list_key, id_key, noun = _ENTRIES[kind]
    defaults = _DEFAULTS.get(kind, {})
    before, after = {**defaults, **before}, {**defaults, **after}
    old, new = _named(before, list_key, id_key), _named(after, list_key, id_key)
    lines = [f"{noun} {name} added" for name in new if name not in old]
    lines += [f"{noun} {name} removed" for name in old if name not in new]
    for name in (name for name in new if name in old):
        paths = _changed_paths(old[name], new[name])
        if paths:
            lines.append(f"{noun} {name}: {', '.join(paths)} changed")
    kept_old = [name for name in old if name in new]
    kept_new = [name for name in new if name in old]
    if kept_old != kept_new:
        lines.append(f"{list_key} reordered")
    for key in sorted((set(before) | set(after)) - {list_key}):
        if before.get(key) != after.get(key):
            lines.append(f"{key} changed")
    return lines
