"""`plaint cases export` and `plaint dev seed`: exports for analysts, synthetic data for benchmarks."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click

from bot.config import Settings
from bot.insight.export import EXPORT_FORMATS, ExportFormat, export_chunks
from storage.insight import CaseExportRow, CaseQuery, TortoiseInsight


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


F = TypeVar("F", bound=Callable[..., Any])


def case_filter_options(command: F) -> F:
    """The list filters, shared by every command that selects cases."""
    for name, help_text in reversed((
        ("status", "only cases in this status"), ("team", "only this team"), ("category", "only this category"),
        ("product", "only this product"), ("channel", "only this channel"), ("lang", "only this language (en, zh)"),
    )):
        command = click.option(f"--{name}", default=None, help=help_text.capitalize() + ".")(command)
    command = click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), default=None,
                           help="Filed on or before this day (YYYY-MM-DD, business time zone).")(command)
    return click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), default=None,
                        help="Filed on or after this day (YYYY-MM-DD, business time zone).")(command)


def case_query(date_from: datetime | None, date_to: datetime | None, **filters: str | None) -> CaseQuery:
    def day(value: datetime | None) -> date | None:
        return value.date() if value is not None else None

    return CaseQuery(date_from=day(date_from), date_to=day(date_to), channel=filters.get("channel"),
                     team=filters.get("team"), category=filters.get("category"), product=filters.get("product"),
                     lang=filters.get("lang"), status=filters.get("status"))


@click.command("export")
@click.option("--format", "export_format", type=click.Choice(EXPORT_FORMATS), default="csv", show_default=True)
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="File to write (`-` for stdout; not for xlsx).")
@click.option("--mask", is_flag=True, help="Mask names, phones and emails (as the viewer role sees them).")
@case_filter_options
@click.pass_context
def cases_export(ctx: click.Context, /, export_format: ExportFormat, out_path: Path, mask: bool,
                 date_from: datetime | None, date_to: datetime | None, **filters: str | None) -> None:
    """One row per case with the documented schema (docs/export-schema.md), streamed: any number of cases."""
    import getpass

    from tqdm import tqdm

    from storage.audit import TortoiseAuditLog
    from storage.database import open_database

    settings = _settings(ctx)
    query = case_query(date_from, date_to, **filters)
    if str(out_path) == "-" and export_format == "xlsx":
        raise click.BadParameter("xlsx needs a file, not stdout", param_hint="--out")

    async def run() -> int:
        async with open_database(settings.effective_database_url):
            insight = TortoiseInsight(ZoneInfo(settings.timezone))
            total = await insight.count(query)
            # Every export is an audit entry, as from the console and the API ("cli:USER", like `plaint admin`).
            try:
                user = getpass.getuser()
            except (KeyError, OSError):
                user = "unknown"
            filters = {name: str(value) for name, value in vars(query).items() if value is not None}
            await TortoiseAuditLog().append(
                actor=f"cli:{user}", via="cli", source_ip=None, action="export", object_type="cases",
                object_id=export_format, before=None, after={**filters, "format": export_format, "masked": mask},
                changes=["created"],
            )
            written = 0
            with (tqdm(total=total, unit="case", disable=str(out_path) == "-", file=sys.stderr)
                  as progress):

                async def counted() -> AsyncIterator[CaseExportRow]:
                    nonlocal written
                    async for row in insight.stream(query):
                        written += 1
                        progress.update(1)
                        yield row

                stream = sys.stdout.buffer
                handle = stream if str(out_path) == "-" else out_path.open("wb")
                try:
                    async for chunk in export_chunks(counted(), export_format, mask=mask):
                        handle.write(chunk)
                finally:
                    if handle is not stream:
                        handle.close()
            return written

    written = asyncio.run(run())
    if str(out_path) != "-":
        click.echo(f"wrote {written} cases to {out_path} ({export_format})", err=True)


@click.group("dev")
def dev_cli() -> None:
    """Tools for demos and benchmarks."""


@dev_cli.command("seed")
@click.option("--cases", "count", type=click.IntRange(1, 10_000_000), required=True, help="How many cases.")
@click.option("--days", type=click.IntRange(1, 3650), default=90, show_default=True, help="Spread over this many days.")
@click.option("--seed", type=int, default=2026, show_default=True, help="Random seed (same seed, same data).")
@click.option("--batch", type=click.IntRange(1, 50_000), default=2000, show_default=True)
@click.option("--replicate-from", type=click.IntRange(0, 10_000_000), default=20_000, show_default=True,
              help="PostgreSQL: generate this many cases, then copy them in SQL up to --cases (0: generate all).")
@click.option("--no-rollup", is_flag=True, help="Do not build the dashboard's daily rollup afterwards.")
@click.pass_context
def dev_seed(ctx: click.Context, count: int, days: int, seed: int, batch: int, replicate_from: int,
             no_rollup: bool) -> None:
    """Create realistic synthetic cases (both languages, all channels) with their histories."""
    from itertools import islice

    from tortoise import connections
    from tqdm import tqdm

    from bot.insight.seed import synthetic_cases
    from bot.privacy.keys import install_data_keyring
    from nlp import Catalog
    from nlp.analyzer import DEFAULT_CATALOG_PATH
    from nlp.taxonomy import Taxonomy
    from storage.database import migrate_database, open_database
    from storage.insight_rollup import TortoiseInsightRollup
    from storage.synthetic import insert_synthetic_cases, replicate_synthetic_cases

    settings = _settings(ctx)
    products = sorted(Catalog.load(settings.catalog_path or DEFAULT_CATALOG_PATH).product_ids)
    categories = [category.id for category in Taxonomy.load().categories]

    async def run() -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        install_data_keyring(settings)  # the synthetic personal data is encrypted like real data
        await migrate_database(settings.effective_database_url)
        async with open_database(settings.effective_database_url):
            postgres = connections.get("default").capabilities.dialect == "postgres"
            # PostgreSQL and many cases: a base generated here, then copied by the database itself.
            base = min(count, replicate_from) if postgres and replicate_from else count
            copies = count // base - 1
            rest = count - base * (copies + 1)

            async def generate(how_many: int, seed_value: int, first: int = 0) -> None:
                generated = synthetic_cases(how_many, products=products, categories=categories,
                                            teams=("general", "appliances", "logistics"), now=datetime.now(UTC),
                                            days=days, seed=seed_value, first=first)
                with tqdm(total=how_many, unit="case", file=sys.stderr) as progress:
                    while chunk := list(islice(generated, batch)):
                        progress.update(await insert_synthetic_cases(chunk))

            await generate(base, seed)
            if copies > 0:
                click.echo(f"copying the {base} cases {copies} times in the database", err=True)
                await replicate_synthetic_cases(copies)
            if rest:
                await generate(rest, seed + 1, first=base)
            if not no_rollup:
                click.echo("building the dashboard's daily rollup", err=True)
                await TortoiseInsightRollup(ZoneInfo(settings.timezone)).rebuild(datetime.now(UTC))

    asyncio.run(run())
    click.echo(f"seeded {count} synthetic cases", err=True)


@click.group("insight")
def insight_cli() -> None:
    """The dashboard's daily rollup."""


@insight_cli.command("rollup")
@click.option("--rebuild", is_flag=True,
              help="Recompute every day (the backfill: after an upgrade, a restore or a time-zone change).")
@click.pass_context
def insight_rollup(ctx: click.Context, rebuild: bool) -> None:
    """Bring the daily rollup up to date now (the workers also do it every PLAINT_INSIGHT_ROLLUP_MINUTES)."""
    from storage.database import migrate_database, open_database
    from storage.insight_rollup import TortoiseInsightRollup

    settings = _settings(ctx)

    async def run() -> int:
        await migrate_database(settings.effective_database_url)
        async with open_database(settings.effective_database_url):
            rollup = TortoiseInsightRollup(ZoneInfo(settings.timezone))
            now = datetime.now(UTC)
            return len(await (rollup.rebuild(now) if rebuild else rollup.refresh(now)))

    days = asyncio.run(run())
    click.echo(f"rollup: {days} days recomputed", err=True)
