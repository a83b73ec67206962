"""`plaint keys ...`: the data keys that encrypt personal data at rest."""

from __future__ import annotations

import asyncio
import time

import click
from tqdm import tqdm

from bot.config import Settings
from bot.privacy.keys import DataKeyError, add_key_to_file, install_data_keyring


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
