"""The `plaint` command."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import json
import logging
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.config import Settings, load_settings
from bot.errors import ConfigurationError

T = TypeVar("T")


def _checked(build: Callable[[], T]) -> T:
    """A configuration error stops the command with its one line ("Error: source: reason"), no traceback."""
    try:
        return build()
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None


@contextlib.contextmanager
def _loading_the_application() -> Iterator[None]:
    """The application's modules are imported and built without the cyclic garbage collector, which would walk
    the growing heap again and again (a tenth of start-up) for objects that live as long as the process; they
    are then frozen out of its sight."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.obj
    assert isinstance(settings, Settings)
    return settings


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _print_json(document: object) -> None:
    click.echo(json.dumps(document, ensure_ascii=False, indent=2, default=_json_default))


class PlaintCommands(click.Group):
    """Sub-commands from other packages are mounted when asked for, inside a function: importing bot.cli
    runs nothing (and does not load the NLP stack for `plaint serve`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, Callable[[], click.Command]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in self.lazy_commands:
            command = self.lazy_commands[name]()
        return command


@click.group(cls=PlaintCommands)
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Optional YAML config file (environment variables PLAINT_* win over it).")
@click.pass_context
def main(ctx: click.Context, config_file: Path | None) -> None:
    """Plaint: complaint intake for chat."""
    ctx.obj = _checked(lambda: load_settings(config_file))
    logging.basicConfig(
        level=ctx.obj.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from bot.operations.logs import configure_log_format

    configure_log_format(ctx.obj.log_format)
    # jieba narrates its dictionary loading at DEBUG on its own handler, and sets its logger to DEBUG when it
    # is imported (later, lazily): a filter outlives that, a level does not.
    logging.getLogger("jieba").addFilter(lambda record: record.levelno >= logging.WARNING)
    from bot.log_redaction import install_log_redaction, settings_secrets

    install_log_redaction(settings_secrets(ctx.obj))
    _use_data_keyring(ctx.obj)


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default PLAINT_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default PLAINT_PORT or 8080).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the web server: web chat at /chat, platform webhooks, the outbox worker."""
    settings = _settings(ctx)
    settings = settings.model_copy(update={"host": host or settings.host, "port": port or settings.port})
    with _loading_the_application():
        from aiohttp import web

        from bot.app import build_app, when_listening

        app = _checked(lambda: build_app(settings))
    web.run_app(app, host=settings.host, port=settings.port, print=when_listening(app))


@main.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run the background workers (inbox turns, outbox, timers) without HTTP, for `plaint serve` processes
    started with PLAINT_SERVE_WORKERS=false (PostgreSQL or MariaDB). SIGTERM stops it gracefully."""
    from bot.worker_process import check_worker_settings, run_worker_process

    settings = _settings(ctx)
    _checked(lambda: check_worker_settings(settings))
    try:
        asyncio.run(run_worker_process(settings))
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None


@main.group()
def db() -> None:
    """Database schema."""


@db.command("migrate")
@click.pass_context
def db_migrate(ctx: click.Context) -> None:
    """Apply Tortoise migrations to PLAINT_DATABASE_URL (SQLite under PLAINT_DATA_DIR by default)."""
    from storage.database import migrate_database

    settings = _settings(ctx)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(migrate_database(settings.effective_database_url))
    click.echo("database is up to date")


@main.command()
@click.option("--lang", type=click.Choice(["en", "zh"]), default=None, help="Conversation language.")
@click.option("--session", default=None, help="Continue a conversation by its console session id.")
@click.pass_context
def chat(ctx: click.Context, lang: str | None, session: str | None) -> None:
    """Talk to the complaint flow on stdin/stdout; pipe one answer per line, `/file PATH` attaches a file."""
    settings = _settings(ctx)
    with _loading_the_application():
        from bot.channels.console import run_console
        from bot.composition import build_application, plan_application
        from storage.database import migrate_database

        blueprint = _checked(lambda: plan_application(settings, with_channels=False))

    async def run() -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await migrate_database(settings.effective_database_url)
        async with build_application(settings, blueprint=blueprint) as application:
            await run_console(application.intake, lang=lang, session=session,
                              on_greeted=application.start_loading_models)

    asyncio.run(run())


@main.group(cls=PlaintCommands)
def flows() -> None:
    """Flow definitions."""


@flows.command("schema")
def flows_schema() -> None:
    """Print the JSON Schema of flow files (for editors: YAML language servers, IDEs)."""
    from flows import flow_json_schema

    click.echo(json.dumps(flow_json_schema(), indent=2, ensure_ascii=False))


@flows.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def flows_validate(files: tuple[Path, ...]) -> None:
    """Check flow YAML files; errors name the file, the step and the problem."""
    from flows import FlowError, load_flow

    failed = False
    for path in files:
        try:
            flow = load_flow(path)
        except FlowError as error:
            failed = True
            click.echo(f"INVALID {error}", err=True)
            continue
        click.echo(f"OK {path}: flow {flow.id!r} version {flow.version}, {len(flow.steps)} steps")
    if failed:
        sys.exit(1)


@main.group()
def routing() -> None:
    """Teams and routing rules of the agent desk."""


@routing.command("validate")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.pass_context
def routing_validate(ctx: click.Context, files: tuple[Path, ...]) -> None:
    """Check routing files (default: PLAINT_SLACK_ROUTING_FILE); errors name the file, the rule and the problem."""
    from bot.desk.routing import SHIPPED_ROUTING_FILE, RoutingConfigError, RoutingVocabulary, load_routing

    failed = False
    settings = _settings(ctx)
    for path in files or (settings.slack_routing_file or SHIPPED_ROUTING_FILE,):
        try:
            config = load_routing(path, RoutingVocabulary.load(settings.catalog_path))
        except RoutingConfigError as error:
            failed = True
            click.echo(f"INVALID {error}", err=True)
            continue
        click.echo(f"OK {path}: {len(config.teams)} teams, {len(config.rules)} rules, default {config.default_team!r}")
    if failed:
        sys.exit(1)


@main.group()
def sla() -> None:
    """SLA policies, business hours, priority rules and CSAT settings (lifecycle room)."""


@sla.command("validate")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.pass_context
def sla_validate(ctx: click.Context, files: tuple[Path, ...]) -> None:
    """Check SLA files (default: PLAINT_SLA_FILE, else the shipped one); errors name the file, the policy and
    the problem."""
    from bot.lifecycle.errors import SlaConfigError
    from bot.lifecycle.sla_policy import load_sla_policies

    failed = False
    for path in files or (_settings(ctx).sla_file,):
        try:
            config = load_sla_policies(path)
        except SlaConfigError as error:
            failed = True
            click.echo(f"INVALID {error}", err=True)
            continue
        click.echo(
            f"OK {path or 'shipped bot/lifecycle/sla.yaml'}: {len(config.policies)} policies, "
            f"{len(config.calendars)} calendars, {len(config.priority.rules)} priority rules"
        )
    if failed:
        sys.exit(1)


@main.group(cls=PlaintCommands)
def cases() -> None:
    """Stored complaint cases."""


def _case_json(details: Any) -> dict[str, Any]:
    document: dict[str, Any] = dataclasses.asdict(details)
    return document


@cases.command("list")
@click.option("--status", default=None, help="Only cases in this status.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.pass_context
def cases_list(ctx: click.Context, status: str | None, as_json: bool) -> None:
    """List the newest cases."""
    from storage.cases import TortoiseCaseRepository
    from storage.database import open_database

    async def run() -> list[Any]:
        async with open_database(_settings(ctx).effective_database_url):
            return await TortoiseCaseRepository().list(status=status)

    rows = asyncio.run(run())
    if as_json:
        _print_json({"cases": [_case_json(row) for row in rows]})
        return
    for row in rows:
        click.echo(f"{row.number}  {row.status:<22} {row.channel:<9} {row.product or '-':<20} "
                   f"{row.category or '-':<20} {row.created_at:%Y-%m-%d %H:%M}")


@cases.command("show")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.pass_context
def cases_show(ctx: click.Context, number: str, as_json: bool) -> None:
    """Every field of one case, its evidence with hashes, and its transcript."""
    from storage.cases import TortoiseCaseRepository
    from storage.database import open_database
    from storage.errors import CaseNotFound

    async def run() -> Any:
        async with open_database(_settings(ctx).effective_database_url):
            return await TortoiseCaseRepository().get(number)

    try:
        details = asyncio.run(run())
    except CaseNotFound as error:
        raise click.ClickException(f"no case numbered {error.number}") from error
    if as_json:
        _print_json(_case_json(details))
        return
    for key, value in _case_json(details).items():
        if key in ("evidence", "transcript", "events"):
            continue
        click.echo(f"{key:>20}: {value}")
    click.echo("evidence:")
    for item in details.evidence:
        click.echo(f"  {item.file_name} {item.media_type} {item.size} bytes sha256={item.sha256}")
    click.echo("transcript:")
    for entry in details.transcript:
        click.echo(f"  [{entry.created_at:%H:%M:%S}] {entry.author}: {entry.text}")


@main.group()
def telegram() -> None:
    """The Telegram channel (PLAINT_TELEGRAM_TOKEN, PLAINT_TELEGRAM_WEBHOOK_SECRET, PLAINT_TELEGRAM_API_URL)."""


def _telegram_settings(ctx: click.Context) -> Settings:
    settings = _settings(ctx)
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
        raise click.ClickException("PLAINT_TELEGRAM_TOKEN is not set")
    return settings


@telegram.command("set-webhook")
@click.argument("url")
@click.pass_context
def telegram_set_webhook(ctx: click.Context, url: str) -> None:
    """Tell Telegram to POST updates to URL (this server's https://.../telegram/webhook)."""
    from telegram.error import TelegramError

    from bot.channels.telegram_server import WEBHOOK_PATH, set_webhook

    settings = _telegram_settings(ctx)
    if not url.startswith("https://"):
        raise click.ClickException("Telegram only delivers webhooks to https:// URLs")
    if not url.rstrip("/").endswith(WEBHOOK_PATH):
        click.echo(f"note: Plaint listens on {WEBHOOK_PATH}; {url} does not end with it", err=True)
    try:
        asyncio.run(set_webhook(settings, url))
    except (ValueError, TelegramError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"webhook set: {url}")


@telegram.command("delete-webhook")
@click.pass_context
def telegram_delete_webhook(ctx: click.Context) -> None:
    """Stop webhook delivery (polling mode needs this; `plaint telegram poll` does it itself)."""
    from telegram.error import TelegramError

    from bot.channels.telegram_server import delete_webhook

    try:
        asyncio.run(delete_webhook(_telegram_settings(ctx)))
    except TelegramError as error:
        raise click.ClickException(str(error)) from error
    click.echo("webhook deleted")


@telegram.command("poll")
@click.option("--host", default=None, help="Interface for the web chat and health check.")
@click.option("--port", type=int, default=None, help="Port (default PLAINT_PORT or 8080).")
@click.pass_context
def telegram_poll(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the server fetching Telegram updates with getUpdates: for development without a public URL.
    Same as `plaint serve` with PLAINT_TELEGRAM_MODE=polling."""
    from aiohttp import web

    from bot.app import build_app, when_listening

    settings = _telegram_settings(ctx)
    settings = settings.model_copy(
        update={"host": host or settings.host, "port": port or settings.port, "telegram_mode": "polling"}
    )
    app = _checked(lambda: build_app(settings))
    web.run_app(app, host=settings.host, port=settings.port, print=when_listening(app))


@click.command("export-corrections")
@click.option("--field", type=click.Choice(["category", "product"]), default="category", show_default=True)
@click.option("--lang", type=click.Choice(["en", "zh"]), default=None, help="Only corrections in this language.")
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.pass_context
def export_corrections(ctx: click.Context, field: str, lang: str | None, out_path: Path) -> None:
    """Write agents' corrections as a CSV (text,label,lang) for `plaint nlp train --from-corrections FILE`."""
    import csv

    from storage.corrections import TortoiseCorrections
    from storage.database import open_database

    async def run() -> list[Any]:
        async with open_database(_settings(ctx.find_root()).effective_database_url):
            return await TortoiseCorrections().examples(field, lang)

    examples = asyncio.run(run())
    with out_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "lang"])
        writer.writerows([example.text, example.label, example.lang] for example in examples)
    click.echo(f"wrote {len(examples)} {field} corrections to {out_path}")


@click.command("retrain")
@click.option("--lang", type=click.Choice(["en", "zh"]), required=True)
@click.option("--data", "base_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="CSV (text,category[,lang]) the current model learned from, trained on again with the new rows "
                   "(without it the candidate must learn every current category from the new rows alone).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--actor", default="cli", show_default=True, help="Who runs it (recorded with the report).")
@click.pass_context
def retrain_command(ctx: click.Context, lang: str, base_path: Path | None, seed: int, actor: str) -> None:
    """Retrain the category model on agents' corrections and the categories of handled (resolved or closed)
    cases; install it only when it is not worse on a held-out slice of those rows. Prints the report as JSON
    and stores it for the admin console (/admin/nlp). A running server uses the new model from its next start."""
    from flows.engine import DATA_ERASURE_CATEGORY
    from nlp.analyzer import category_model_dir
    from nlp.errors import NlpError
    from nlp.retraining import retrain
    from nlp.training import LabelledText, load_labelled_csv
    from storage.corrections import TortoiseCorrections, record_retrain
    from storage.crypto import CryptoError
    from storage.database import open_database

    settings = _settings(ctx.find_root())
    language: Any = lang

    async def labelled() -> tuple[list[Any], list[Any]]:
        async with open_database(settings.effective_database_url):
            store = TortoiseCorrections()
            return (await store.examples("category", lang),
                    await store.case_examples(lang, excluded_categories=(DATA_ERASURE_CATEGORY,)))

    async def record(document: dict[str, Any]) -> None:
        async with open_database(settings.effective_database_url):
            await record_retrain(document, actor=f"cli:{actor}", via="cli")

    try:
        corrections, cases = asyncio.run(labelled())
    except CryptoError as error:
        raise click.ClickException(f"cannot read the stored cases: {error}") from error
    installed = settings.data_dir / "models"
    try:
        base = load_labelled_csv(base_path, "text", "category", lang=language) if base_path else []
        report = retrain(category_model_dir(language, installed), [LabelledText(e.text, e.label) for e in corrections],
                         [LabelledText(e.text, e.label) for e in cases], lang=language, base_rows=base,
                         install_dir=installed / f"{lang}_category", seed=seed)
    except NlpError as error:
        raise click.ClickException(str(error)) from error
    document = report.to_json()
    asyncio.run(record(document))
    click.echo(json.dumps(document, ensure_ascii=False))


def _nlp_commands() -> click.Command:
    from nlp.cli import nlp_cli

    for command in (export_corrections, retrain_command):
        if command.name not in nlp_cli.commands:
            nlp_cli.add_command(command)
    return nlp_cli


def _admin_commands() -> click.Command:
    from bot.admin.cli import admin_cli

    return admin_cli


def _flows_import() -> click.Command:
    from bot.admin.cli import flows_import

    return flows_import


def _flows_export() -> click.Command:
    from bot.admin.cli import flows_export

    return flows_export


def _webhook_commands() -> click.Command:
    from bot.operations.cli import webhooks

    return webhooks


def _doctor_command() -> click.Command:
    from bot.operations.cli import doctor

    return doctor


def _use_data_keyring(settings: Settings) -> None:
    """Stored personal data is encrypted: every command reads it with the installed data keys."""
    from bot.privacy.keys import DataKeyError, install_existing_data_keyring

    try:
        install_existing_data_keyring(settings)
    except DataKeyError as error:
        raise click.ClickException(str(error)) from error


def _privacy_command(name: str) -> Callable[[], click.Command]:
    def load() -> click.Command:
        from bot.privacy import cli

        groups: dict[str, click.Command] = {
            "keys": cli.keys_cli, "backup": cli.backup_cli, "privacy": cli.privacy_cli, "data": cli.data_cli,
        }
        return groups[name]

    return load


def _cases_export() -> click.Command:
    from bot.insight.cli import cases_export

    return cases_export


def _dev_commands() -> click.Command:
    from bot.insight.cli import dev_cli

    return dev_cli


def _insight_commands() -> click.Command:
    from bot.insight.cli import insight_cli

    return insight_cli


def _mount_lazy_commands() -> None:
    assert isinstance(main, PlaintCommands) and isinstance(flows, PlaintCommands)
    assert isinstance(cases, PlaintCommands)
    main.lazy_commands.update({
        "nlp": _nlp_commands, "admin": _admin_commands, "webhooks": _webhook_commands, "doctor": _doctor_command,
    })
    main.lazy_commands.update({name: _privacy_command(name) for name in ("keys", "backup", "privacy", "data")})
    main.lazy_commands["dev"] = _dev_commands
    main.lazy_commands["insight"] = _insight_commands
    flows.lazy_commands.update({"import": _flows_import, "export": _flows_export})
    cases.lazy_commands["export"] = _cases_export


_mount_lazy_commands()
