"""`plaint keys ...` (the data keys that encrypt personal data at rest), `plaint backup ...` and
`plaint privacy ...` (export and erase on a data subject's request)."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from bot.config import Settings
from bot.privacy.keys import DataKeyError, add_key_to_file, install_data_keyring

log = logging.getLogger(__name__)


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


def _keyring_or_fail(settings: Settings) -> None:
    try:
        install_data_keyring(settings)
    except DataKeyError as error:
        raise click.ClickException(str(error)) from error


@click.group("keys")
def keys_cli() -> None:
    """Data keys (PLAINT_DATA_KEY or the key file under PLAINT_DATA_DIR): add a key, rotate, status."""


@keys_cli.command("add")
@click.argument("key_id")
@click.pass_context
def keys_add(ctx: click.Context, key_id: str) -> None:
    """Make a new current key KEY_ID in the key file; older keys stay to read older data. Then run
    `plaint keys rotate` (every worker must be restarted to encrypt with it)."""
    try:
        keyring = add_key_to_file(_settings(ctx), key_id)
    except DataKeyError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"current data key is now {keyring.current.key_id}; keys: {', '.join(k.key_id for k in keyring.keys)}")
    click.echo("back up the key file again; then run `plaint keys rotate`")


@keys_cli.command("status")
@click.pass_context
def keys_status(ctx: click.Context) -> None:
    """How many stored values each key encrypted, per table and for the evidence files."""
    from storage.database import open_database
    from storage.evidence import LocalEvidenceStore
    from storage.key_rotation import key_usage

    settings = _settings(ctx)
    _keyring_or_fail(settings)

    async def run() -> dict[str, dict[str, int]]:
        async with open_database(settings.effective_database_url):
            usage = await key_usage(LocalEvidenceStore(settings.evidence_dir))
        return {table: dict(counts) for table, counts in usage.items()}

    for table, counts in asyncio.run(run()).items():
        described = ", ".join(f"{key}: {count}" for key, count in sorted(counts.items())) or "empty"
        click.echo(f"{table:<20} {described}")


@keys_cli.command("rotate")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=200, show_default=True,
              help="Rows re-encrypted per transaction.")
@click.option("--pause", type=click.FloatRange(0, 60), default=0.0, show_default=True,
              help="Seconds to rest between batches, to stay gentle with a live database.")
@click.pass_context
def keys_rotate(ctx: click.Context, batch_size: int, pause: float) -> None:
    """Re-encrypt every stored personal value and evidence file under the current key. Safe while Plaint is
    serving; a run that is stopped or killed resumes where it stopped."""
    from storage.database import open_database
    from storage.evidence import LocalEvidenceStore
    from storage.key_rotation import EVIDENCE_TABLE, PLAINTEXT, key_usage, rotate_keys, rows_to_rotate

    settings = _settings(ctx)
    _keyring_or_fail(settings)
    evidence = LocalEvidenceStore(settings.evidence_dir)

    async def run() -> tuple[str, dict[str, dict[str, int]]]:
        from storage.crypto import installed_keyring

        keyring = installed_keyring()
        assert keyring is not None
        async with open_database(settings.effective_database_url):
            total = await rows_to_rotate(keyring.current.key_id) + len(evidence.storage_keys())
            with tqdm(total=total, desc=f"re-encrypting under {keyring.current.key_id}", unit="row") as bar:

                def advance(table: str, rows: int) -> None:
                    bar.update(rows)
                    if pause and table != EVIDENCE_TABLE:
                        time.sleep(pause)

                target = await rotate_keys(evidence=evidence, batch_size=batch_size, on_batch=advance)
            usage = await key_usage(evidence)
        return target, {table: dict(counts) for table, counts in usage.items()}

    target, usage = asyncio.run(run())
    stale = {table: {key: n for key, n in counts.items() if key != target} for table, counts in usage.items()}
    stale = {table: counts for table, counts in stale.items() if counts}
    if stale:
        # Rows written by a worker still running with the old keyring; run again once every worker restarted.
        details = "; ".join(f"{table}: {counts}" for table, counts in stale.items())
        raise click.ClickException(f"some values are not under {target} yet ({details}); restart every worker "
                                   f"with the new key, then run `plaint keys rotate` again")
    click.echo(f"every stored value is encrypted under {target}" + (
        "" if not any(PLAINTEXT in counts for counts in usage.values()) else " (plaintext values remain)"))


@click.group("backup")
def backup_cli() -> None:
    """Backups of the database and the evidence files: create, verify, restore."""


@backup_cli.command("create")
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The backup file to write (a tar stream; personal data in it stays encrypted).")
@click.pass_context
def backup_create(ctx: click.Context, out_path: Path) -> None:
    """A consistent snapshot of the database and the evidence it refers to, while Plaint keeps serving."""
    from storage.backup import BackupError, create_backup
    from storage.database import open_database
    from storage.evidence import LocalEvidenceStore

    settings = _settings(ctx)
    partial = out_path.with_name(out_path.name + ".part")

    async def run() -> Any:
        async with open_database(settings.effective_database_url):
            with partial.open("wb") as sink, tqdm(desc="backing up", unit="B", unit_scale=True) as bar:
                return await create_backup(sink, LocalEvidenceStore(settings.evidence_dir), bar.update)

    try:
        manifest = asyncio.run(run())
    except (BackupError, OSError) as error:
        partial.unlink(missing_ok=True)
        raise click.ClickException(str(error)) from error
    partial.replace(out_path)
    rows = sum(manifest.tables.values())
    files = sum(1 for name in manifest.entries if name.startswith("evidence/"))
    click.echo(f"wrote {out_path}: {rows} rows in {len(manifest.tables)} tables, {files} evidence files, "
               f"schema {manifest.schema[-1] if manifest.schema else '-'}")


@backup_cli.command("verify")
@click.argument("backup_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
def backup_verify(backup_file: Path) -> None:
    """Read the whole backup and check every entry against its checksum."""
    from storage.backup import BackupError, verify_backup

    try:
        with backup_file.open("rb") as source, tqdm(
            desc="verifying", unit="B", unit_scale=True, total=backup_file.stat().st_size
        ) as bar:
            manifest = verify_backup(source, bar.update)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"OK {backup_file}: {len(manifest.entries)} entries match their checksums; made "
               f"{manifest.created_at} from {manifest.source_dialect}, schema "
               f"{manifest.schema[-1] if manifest.schema else '-'}")


@backup_cli.command("restore")
@click.argument("backup_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.pass_context
def backup_restore(ctx: click.Context, backup_file: Path) -> None:
    """Load a verified backup into the EMPTY database of PLAINT_DATABASE_URL (any backend: SQLite, PostgreSQL,
    MariaDB) and the evidence directory; the schema is migrated first. Needs the data key it was made with."""
    from storage.backup import BackupError, restore_backup
    from storage.database import migrate_database, open_database
    from storage.evidence import LocalEvidenceStore

    settings = _settings(ctx)

    async def run() -> Any:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await migrate_database(settings.effective_database_url)
        async with open_database(settings.effective_database_url):
            with tqdm(desc="restoring", unit="B", unit_scale=True, total=backup_file.stat().st_size) as bar:
                return await restore_backup(backup_file, LocalEvidenceStore(settings.evidence_dir), bar.update)

    try:
        manifest = asyncio.run(run())
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored {sum(manifest.tables.values())} rows and "
               f"{sum(1 for name in manifest.entries if name.startswith('evidence/'))} evidence files")


_SUBJECT_OPTIONS = [
    click.option("--customer", default=None, metavar="CHANNEL:ID", help="A channel address, e.g. telegram:12345."),
    click.option("--phone", default=None, help="Every case with this phone number, on any channel."),
    click.option("--email", default=None, help="Every case with this email address, on any channel."),
    click.option("--actor", default="cli", show_default=True, help="Who handles the request (recorded)."),
]


def _subject_options(command: Any) -> Any:
    for option in reversed(_SUBJECT_OPTIONS):
        command = option(command)
    return command


@click.group("privacy")
def privacy_cli() -> None:
    """Requests from a data subject: export or erase everything of one person."""


@privacy_cli.command("export")
@_subject_options
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The ZIP to write: data.json, summary.txt in their language, evidence files.")
@click.pass_context
def privacy_export(ctx: click.Context, customer: str | None, phone: str | None, email: str | None, actor: str,
                   out_path: Path) -> None:
    """Every case, message and evidence file of one person, as a ZIP to hand to them."""
    from storage.database import open_database
    from storage.evidence import LocalEvidenceStore
    from storage.privacy import SubjectNotFound, export_subject, find_subject, record_event, subject_query

    settings = _settings(ctx)
    try:
        query = subject_query(customer, phone, email)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    _keyring_or_fail(settings)
    partial = out_path.with_name(out_path.name + ".part")

    async def run() -> dict[str, int]:
        async with open_database(settings.effective_database_url):
            subject = await find_subject(query)
            with partial.open("wb") as sink:
                counts = await export_subject(subject, sink, LocalEvidenceStore(settings.evidence_dir))
            await record_event(subject, "personal_data_exported", actor, counts)
            return counts

    try:
        counts = asyncio.run(run())
    except SubjectNotFound as error:
        partial.unlink(missing_ok=True)
        raise click.ClickException(str(error)) from error
    partial.replace(out_path)
    click.echo(f"wrote {out_path}: {counts['cases']} cases, {counts['messages']} messages, "
               f"{counts['files']} files")


@privacy_cli.command("erase")
@_subject_options
@click.option("--hard", is_flag=True, help="Delete the cases too (default: keep them anonymised for statistics).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def privacy_erase(ctx: click.Context, customer: str | None, phone: str | None, email: str | None, actor: str,
                  hard: bool, yes: bool) -> None:
    """Erase one person's personal data, messages and evidence files; their cases stay, anonymised, so the
    statistics still add up (--hard deletes the cases as well)."""
    from storage.database import open_database
    from storage.evidence import LocalEvidenceStore
    from storage.privacy import SubjectNotFound, erase_subject, find_subject, subject_query

    settings = _settings(ctx)
    try:
        query = subject_query(customer, phone, email)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    _keyring_or_fail(settings)

    async def run() -> Any:
        async with open_database(settings.effective_database_url):
            subject = await find_subject(query)
            if not yes:
                click.confirm(f"erase {query.describe()}: {len(subject.case_ids)} cases "
                              f"({'deleted' if hard else 'anonymised'})?", abort=True)
            report = await erase_subject(subject, LocalEvidenceStore(settings.evidence_dir), actor=actor, hard=hard)
            if hard:
                # The cases (and the events on them) are gone: the record of the request is this log line.
                log.warning("personal data erased (hard) by %s: %d cases deleted", actor, report.cases_deleted)
            return report

    try:
        report = asyncio.run(run())
    except SubjectNotFound as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"erased: {report.cases_anonymised} cases anonymised, {report.cases_deleted} cases deleted, "
               f"{report.messages_deleted} messages and {report.evidence_files_deleted} evidence files deleted")


def _outcome_lines(outcome: Any, applied: bool) -> list[str]:
    verb = {"delete": "deleted" if applied else "would be deleted",
            "anonymise": "anonymised" if applied else "would be anonymised"}
    lines = []
    for item in outcome.classes:
        files = f", {item.files} files" if item.files else ""
        examples = f" (e.g. {', '.join(item.examples)})" if item.examples else ""
        lines.append(f"{item.data_class:<13} older than {item.cutoff:%Y-%m-%d %H:%M} UTC: {item.rows} rows"
                     f"{files} {verb[item.action]}{examples}")
    return lines


@privacy_cli.command("retention")
@click.option("--dry-run/--apply", "dry_run", default=True, show_default=True,
              help="--dry-run says what would go; --apply removes it (and records it in the audit log).")
@click.option("--policy", "policy_file", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="The retention policy YAML (default: PLAINT_RETENTION_FILE).")
@click.option("--actor", default="cli", show_default=True, help="Who runs it (recorded).")
@click.pass_context
def privacy_retention(ctx: click.Context, dry_run: bool, policy_file: Path | None, actor: str) -> None:
    """Apply the retention policy: what each data class (evidence, transcripts, closed_cases, audit_log) holds
    past its period. Plaint's workers also run it daily when a policy is configured."""
    from bot.privacy.retention import RetentionPolicyError, RetentionService
    from storage.audit import TortoiseAuditLog
    from storage.database import open_database
    from storage.evidence import LocalEvidenceStore

    settings = _settings(ctx)
    _keyring_or_fail(settings)
    # An explicit --policy file is the policy of this run; otherwise the console's saved one, else the file.
    service = RetentionService(
        policy_file=policy_file or settings.retention_file, evidence=LocalEvidenceStore(settings.evidence_dir),
        audit_log=TortoiseAuditLog(), use_stored=policy_file is None,
    )

    async def run() -> Any:
        async with open_database(settings.effective_database_url):
            if dry_run:
                return await service.preview()
            return await service.apply(actor=f"cli:{actor}"[:300], via="cli")

    try:
        outcome = asyncio.run(run())
    except RetentionPolicyError as error:
        raise click.ClickException(str(error)) from error
    if not any(item.data_class != "settled_outbox" for item in outcome.classes):
        click.echo("no retention policy (set PLAINT_RETENTION_FILE or save one in the console): only settled "
                   "outbox rows are removed")
    for line in _outcome_lines(outcome, applied=not dry_run):
        click.echo(line)
    if dry_run:
        click.echo("dry run: nothing was changed (run with --apply)")


@click.group("data")
def data_cli() -> None:
    """Data quality: check the stored cases, normalise contacts and merge duplicate customers."""


def _finding_lines(document: dict[str, Any]) -> list[str]:
    lines = [f"{document['cases_checked']} cases checked"]
    for name, finding in document["findings"].items():
        examples = f" (e.g. {', '.join(finding['examples'])})" if finding["examples"] else ""
        lines.append(f"{name:<32} {finding['count']}{examples}")
    return lines


@data_cli.command("check")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON.")
@click.option("--actor", default="cli", show_default=True, help="Who runs it (recorded with the report).")
@click.pass_context
def data_check(ctx: click.Context, as_json: bool, actor: str) -> None:
    """Invalid or inconsistent stored values: contacts that no longer validate or are not normalised, cases
    missing required fields, one person under several identities, exact and near-duplicate cases. Counts and
    example case numbers; the admin console shows the last report."""
    import json

    from storage.data_quality import check_data, record_check
    from storage.database import open_database

    settings = _settings(ctx)
    _keyring_or_fail(settings)

    async def run() -> dict[str, Any]:
        async with open_database(settings.effective_database_url):
            report = await check_data()
            await record_check(report, actor=f"cli:{actor}", via="cli")
            return report.document()

    document = asyncio.run(run())
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    for line in _finding_lines(document):
        click.echo(line)


@data_cli.command("clean")
@click.option("--dry-run/--apply", "dry_run", default=True, show_default=True,
              help="--dry-run says what would change; --apply changes it (audited, with an undo record).")
@click.option("--actor", default="cli", show_default=True, help="Who runs it (recorded).")
@click.pass_context
def data_clean(ctx: click.Context, dry_run: bool, actor: str) -> None:
    """Normalise phone numbers (E.164) and email addresses, and merge the customers that share one; undo with
    `plaint data undo ENTRY_ID`."""
    from storage.data_quality import apply_clean, plan_clean
    from storage.database import open_database

    settings = _settings(ctx)
    _keyring_or_fail(settings)

    async def run() -> tuple[Any, int | None]:
        async with open_database(settings.effective_database_url):
            plan = await plan_clean()
            if dry_run or not (plan.contacts or plan.merges):
                return plan, None
            return plan, await apply_clean(plan, actor=f"cli:{actor}", via="cli")

    plan, entry_id = asyncio.run(run())
    examples = f" (e.g. {', '.join(plan.examples)})" if plan.examples else ""
    verb = "would be " if dry_run else ""
    click.echo(f"{len(plan.contacts)} contacts {verb}normalised, {len(plan.merges)} customers {verb}merged"
               f"{examples}")
    if dry_run:
        click.echo("dry run: nothing was changed (run with --apply)")
    elif entry_id is not None:
        click.echo(f"undo record: audit entry {entry_id} (plaint data undo {entry_id})")


@data_cli.command("undo")
@click.argument("entry_id", type=click.IntRange(min=1))
@click.option("--actor", default="cli", show_default=True, help="Who runs it (recorded).")
@click.pass_context
def data_undo(ctx: click.Context, entry_id: int, actor: str) -> None:
    """Put back what one `plaint data clean --apply` changed (its audit entry id)."""
    from storage.data_quality import CleanRecordNotFound, undo_clean
    from storage.database import open_database

    settings = _settings(ctx)
    _keyring_or_fail(settings)

    async def run() -> int:
        async with open_database(settings.effective_database_url):
            return await undo_clean(entry_id, actor=f"cli:{actor}", via="cli")

    try:
        restored = asyncio.run(run())
    except CleanRecordNotFound as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored {restored} rows")
