"""The migrations are the schema: a model changed without a migration fails here, not in production."""

from __future__ import annotations

from pathlib import Path

from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from storage.database import tortoise_config


async def test_models_and_migrations_agree(tmp_path: Path) -> None:
    config = tortoise_config(f"sqlite:///{tmp_path / 'check.sqlite3'}")
    async with tortoise_cli_context(config) as context:
        assert context.apps is not None
        writers = await MigrationAutodetector(context.apps, config["apps"]).changes()
    assert writers == [], "models changed without a migration: run tortoise makemigrations (see README)"
