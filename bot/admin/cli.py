"""`plaint admin ...` (accounts and API tokens) and `plaint flows import/export`. Every change is written
to the audit log with the operating-system user as the actor ("cli:NAME")."""

from __future__ import annotations

import asyncio
import getpass
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import yaml

from bot.config import Settings

T = TypeVar("T")
TOKEN_PREFIX = "plt_"


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


def _cli_actor() -> Any:
    from bot.admin.audit import Actor

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(f"cli:{user}", "admin", "cli", None)


def _run(ctx: click.Context, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` with the database open (migrated first, like `plaint chat`)."""
    from storage.database import migrate_database, open_database

    settings = _settings(ctx)

    async def run() -> T:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await migrate_database(settings.effective_database_url)
        async with open_database(settings.effective_database_url):
            return await work()

    return asyncio.run(run())


@click.group("admin")
def admin_cli() -> None:
    """Console accounts and API tokens."""


@admin_cli.command("create-user")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["admin", "editor", "supervisor", "viewer"]))
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.pass_context
def create_user(ctx: click.Context, email: str, role: str, password_stdin: bool) -> None:
    """Create a console user; the password is asked for (twice) unless --password-stdin."""
    from bot.admin.errors import WeakPassword
    from bot.admin.passwords import hash_password
    from storage.accounts import AccountExists, TortoiseAccounts
    from storage.audit import TortoiseAuditLog

    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise click.BadParameter("not an email address", param_hint="EMAIL")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        password_hash = hash_password(password)
    except WeakPassword as error:
        raise click.ClickException(error.reason) from error

    async def work() -> None:
        from bot.admin.audit import AuditTrail

        await TortoiseAccounts().create_user(email, role, password_hash)
        await AuditTrail(TortoiseAuditLog()).record(_cli_actor(), "user.created", "user", email, None,
                                                    {"email": email, "role": role})

    try:
        _run(ctx, work)
    except AccountExists as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"user {email} created with role {role}")


@admin_cli.group("token")
def token_cli() -> None:
    """Bearer tokens for the REST API (/api/v1)."""


@token_cli.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["admin", "editor", "supervisor", "viewer"]))
@click.pass_context
def token_create(ctx: click.Context, name: str, role: str) -> None:
    """Create a token and print it once (only its hash is stored)."""
    from bot.admin.audit import AuditTrail
    from storage.accounts import AccountExists, TortoiseAccounts
    from storage.audit import TortoiseAuditLog

    if not name.strip() or len(name) > 100:
        raise click.BadParameter("1 to 100 characters", param_hint="NAME")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)

    async def work() -> None:
        await TortoiseAccounts().create_token(name, role, secret)
        await AuditTrail(TortoiseAuditLog()).record(_cli_actor(), "token.created", "token", name, None,
                                                    {"name": name, "role": role})

    try:
        _run(ctx, work)
    except AccountExists as error:
        raise click.ClickException(str(error)) from error
    click.echo(secret)


@token_cli.command("revoke")
@click.argument("name")
@click.pass_context
def token_revoke(ctx: click.Context, name: str) -> None:
    """Revoke a token: requests with it are refused from now on."""
    from bot.admin.audit import AuditTrail
    from storage.accounts import AccountNotFound, TortoiseAccounts
    from storage.audit import TortoiseAuditLog

    async def work() -> None:
        await TortoiseAccounts().revoke_token(name, datetime.now(UTC))
        await AuditTrail(TortoiseAuditLog()).record(_cli_actor(), "token.revoked", "token", name,
                                                    {"revoked": False}, {"revoked": True})

    try:
        _run(ctx, work)
    except AccountNotFound as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"token {name} revoked")


@admin_cli.command("prune-audit")
@click.option("--older-than-days", type=click.IntRange(min=1), default=None,
              help="Default: PLAINT_AUDIT_RETENTION_DAYS (730).")
@click.pass_context
def prune_audit(ctx: click.Context, older_than_days: int | None) -> None:
    """Delete audit entries past the retention period (the only deletion the audit log allows)."""
    from datetime import timedelta

    from bot.admin.audit import AuditTrail
    from storage.audit import TortoiseAuditLog

    days = older_than_days or _settings(ctx).audit_retention_days

    async def work() -> int:
        log = TortoiseAuditLog()
        deleted = await log.delete_older_than(datetime.now(UTC) - timedelta(days=days))
        await AuditTrail(log).record(_cli_actor(), "audit.pruned", "audit", "retention", None,
                                     {"older_than_days": days, "deleted": deleted})
        return deleted

    click.echo(f"deleted {_run(ctx, work)} audit entries older than {days} days")


def _flow_admin() -> Any:
    from bot.admin.audit import AuditTrail
    from bot.admin.flow_admin import FlowAdmin
    from bot.flow_registry import FlowRegistry
    from storage.audit import TortoiseAuditLog
    from storage.flow_versions import TortoiseFlowVersions

    return FlowAdmin(FlowRegistry("complaint"), TortoiseFlowVersions(), AuditTrail(TortoiseAuditLog()))


def _problem_lines(problems: Any) -> str:
    return "\n".join(
        f"  {'step ' + item.step if item.step else 'flow'}: {item.field + ': ' if item.field else ''}{item.message}"
        for item in problems
    )


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--draft", "draft_only", is_flag=True, help="Store as the flow's draft instead of publishing.")
@click.pass_context
def flows_import(ctx: click.Context, file: Path, draft_only: bool) -> None:
    """Publish a flow YAML file as the flow's next version (every problem is listed if it has any)."""
    from bot.admin.errors import FlowInvalid

    try:
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise click.ClickException(f"{file}: cannot read the flow: {error}") from error
    if not isinstance(document, dict):
        raise click.ClickException(f"{file}: a flow is a mapping with id, title, start, steps")

    async def work() -> int | None:
        from storage.flow_versions import TortoiseFlowVersions

        registry_store = TortoiseFlowVersions()
        admin = _flow_admin()
        # The shipped flows must be in the database before a new version is numbered after them.
        from bot.flow_registry import FlowRegistry

        await FlowRegistry(_settings(ctx).flow_id, _settings(ctx).flows_dir).attach(registry_store)
        result: int | None = await admin.import_flow(document, _cli_actor(), draft_only=draft_only)
        return result

    try:
        version = _run(ctx, work)
    except FlowInvalid as error:
        raise click.ClickException(f"{file}: the flow has problems:\n{_problem_lines(error.problems)}") from error
    flow_id = document.get("id")
    click.echo(f"flow {flow_id}: draft saved" if version is None else f"flow {flow_id}: published version {version}")


@click.command("export")
@click.argument("flow_id")
@click.option("--version", type=click.IntRange(min=1), default=None, help="A published version (default: newest).")
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write to this file instead of stdout.")
@click.pass_context
def flows_export(ctx: click.Context, flow_id: str, version: int | None, out_path: Path | None) -> None:
    """Print a published flow version as YAML."""
    from bot.admin.errors import FlowNotFound

    async def work() -> dict[str, Any]:
        from bot.flow_registry import FlowRegistry
        from storage.flow_versions import TortoiseFlowVersions

        await FlowRegistry(_settings(ctx).flow_id, _settings(ctx).flows_dir).attach(TortoiseFlowVersions())
        definition: dict[str, Any] = await _flow_admin().export(flow_id, version, _cli_actor())
        return definition

    try:
        definition = _run(ctx, work)
    except FlowNotFound as error:
        raise click.ClickException(str(error)) from error
    text = yaml.safe_dump(definition, allow_unicode=True, sort_keys=False, width=120)
    if out_path is None:
        click.echo(text, nl=False)
    else:
        out_path.write_text(text, encoding="utf-8")
        click.echo(f"wrote {flow_id} to {out_path}", err=True)
