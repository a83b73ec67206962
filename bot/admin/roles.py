"""Roles and what each may do. Every endpoint names one permission; this table is the only place that
says which roles hold it."""

from __future__ import annotations

from enum import StrEnum

from bot.admin.errors import UnknownRole


class Role(StrEnum):
    ADMIN = "admin"  # everything
    EDITOR = "editor"  # flows, catalog, categories, routing
    SUPERVISOR = "supervisor"  # cases, insight, acting on cases
    VIEWER = "viewer"  # read-only, contact details masked


class Permission(StrEnum):
    FLOWS_READ = "flows:read"
    FLOWS_WRITE = "flows:write"
    CASES_READ = "cases:read"
    CASES_ACT = "cases:act"
    CONTACTS_READ = "contacts:read"
    AUDIT_READ = "audit:read"
    SETTINGS_READ = "settings:read"  # catalog, categories, routing, SLA policies
    SETTINGS_WRITE = "settings:write"
    WEBHOOKS_MANAGE = "webhooks:manage"  # subscriptions carry secrets: admins only
    # Retention, data quality and data subjects' requests (export, erase): admins only.
    PRIVACY_MANAGE = "privacy:manage"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.EDITOR: frozenset(
        {Permission.FLOWS_READ, Permission.FLOWS_WRITE, Permission.SETTINGS_READ, Permission.SETTINGS_WRITE}
    ),
    Role.SUPERVISOR: frozenset(
        {Permission.FLOWS_READ, Permission.CASES_READ, Permission.CASES_ACT, Permission.CONTACTS_READ,
         Permission.SETTINGS_READ}
    ),
    Role.VIEWER: frozenset({Permission.FLOWS_READ, Permission.CASES_READ, Permission.SETTINGS_READ}),
}


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise UnknownRole(value) from None


def allows(role: Role, permission: Permission) -> bool:
    return permission in _GRANTS[role]
