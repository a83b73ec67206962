"""`plaint webhooks ...` and `plaint doctor`: the operator's commands."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

import click

from bot.case_events import WebhookEvent
from bot.config import Settings

T = TypeVar("T")

EVENT_NAMES = [event.value for event in WebhookEvent]


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


def _with_database(ctx: click.Context, work: Callable[[], Awaitable[T]]) -> T:
    from storage.database import open_database

    async def run() -> T:
        async with open_database(_settings(ctx).effective_database_url):
            return await work()

    return asyncio.run(run())


def _valid_url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter("must be an http:// or https:// URL with a host name")
    if parts.username or parts.password:
        raise click.BadParameter("must not carry credentials (they would show in listings and logs)")
    return value


def _valid_secret(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if len(value) < 16:
        raise click.BadParameter("must be at least 16 characters (it signs every delivery)")
    if len(value) > 255:
        raise click.BadParameter("must be at most 255 characters")
    return value


@click.group()
def webhooks() -> None:
    """Outbound webhooks: signed case events for helpdesks, CRMs and your own services."""


@webhooks.command("add")
@click.argument("url", callback=_valid_url)
@click.option("--event", "events", multiple=True, required=True, type=click.Choice(EVENT_NAMES),
              help="An event to send (repeat for several).")
@click.option("--secret", required=True, callback=_valid_secret, help="Shared secret that signs every delivery.")
@click.option("--personal-data", is_flag=True,
              help="Send names, contacts and the customer's words unmasked (only to receivers that may see them).")
@click.pass_context
def webhooks_add(ctx: click.Context, url: str, events: tuple[str, ...], secret: str, personal_data: bool) -> None:
    """Subscribe URL to case events."""
    from storage.webhooks import TortoiseWebhookStore

    record = _with_database(
        ctx, lambda: TortoiseWebhookStore().add_subscription(url, events, secret, personal_data)
    )
    click.echo(f"webhook {record.id} added: {record.url} <- {', '.join(record.events)}")


@webhooks.command("list")
@click.pass_context
def webhooks_list(ctx: click.Context) -> None:
    """Subscriptions (secrets are never shown)."""
    from storage.webhooks import TortoiseWebhookStore

    records = _with_database(ctx, TortoiseWebhookStore().subscriptions)
    if not records:
        click.echo("no webhooks; add one with `plaint webhooks add URL --event case.filed --secret SECRET`")
    for record in records:
        data = "personal data" if record.may_see_personal_data else "masked"
        click.echo(f"{record.id:>4}  {record.url}  {','.join(record.events)}  {data}")


@webhooks.command("remove")
@click.argument("subscription_id", type=int)
@click.pass_context
def webhooks_remove(ctx: click.Context, subscription_id: int) -> None:
    """Delete a subscription; its deliveries not yet sent are cancelled, the log stays."""
    from storage.webhooks import SubscriptionNotFound, TortoiseWebhookStore

    try:
        _with_database(ctx, lambda: TortoiseWebhookStore().remove_subscription(subscription_id))
    except SubscriptionNotFound as error:
        raise click.ClickException(f"no webhook {error.subscription_id} (see `plaint webhooks list`)") from error
    click.echo(f"webhook {subscription_id} removed")


@webhooks.command("deliveries")
@click.option("--status", type=click.Choice(["pending", "delivered", "failed", "dead", "cancelled"]), default=None,
              help="Only deliveries in this status (dead: the dead letters).")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.pass_context
def webhooks_deliveries(ctx: click.Context, status: str | None, limit: int) -> None:
    """The delivery log, newest first."""
    from storage.webhooks import TortoiseWebhookStore

    rows = _with_database(ctx, lambda: TortoiseWebhookStore().deliveries(status, limit))
    for row in rows:
        replay = f" replay of {row.replay_of}" if row.replay_of else ""
        code = row.last_status_code if row.last_status_code is not None else "-"
        click.echo(f"{row.id:>6}  {row.status:<9} {row.event_type:<20} {row.case_number:<12} webhook "
                   f"{row.subscription_id or '-'}  attempts {row.attempts}  HTTP {code}{replay}"
                   f"{'  ' + row.last_error if row.last_error and row.status != 'delivered' else ''}")


@webhooks.command("replay")
@click.argument("delivery_id", type=int)
@click.pass_context
def webhooks_replay(ctx: click.Context, delivery_id: int) -> None:
    """Send a delivery again (same event id; `delivery.replay_of` names the original)."""
    from storage.webhooks import DeliveryNotFound, SubscriptionNotFound, TortoiseWebhookStore

    try:
        record = _with_database(ctx, lambda: TortoiseWebhookStore().replay(delivery_id))
    except DeliveryNotFound as error:
        raise click.ClickException(f"no delivery {error.delivery_id} (see `plaint webhooks deliveries`)") from error
    except SubscriptionNotFound as error:
        raise click.ClickException(f"delivery {delivery_id}'s webhook was removed; nothing to replay to") from error
    click.echo(f"delivery {record.id} queued (replay of {delivery_id}); a running `plaint serve` sends it")


@click.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check configuration, database, platform credentials, webhooks, the public URL and routing."""
    from bot.operations.doctor import Doctor, render

    findings = asyncio.run(Doctor(_settings(ctx)).examine())
    click.echo(render(findings))
    problems = sum(not finding.ok for finding in findings)
    if problems:
        click.echo(f"\n{problems} problem(s) found", err=True)
        ctx.exit(1)
    click.echo("\nall checks passed")
