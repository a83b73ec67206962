"""The migrations are the schema: a model changed without a migration fails here, not in production."""

from __future__ import annotations

from pathlib import Path

from tortoise import Tortoise, connections
from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from storage.database import open_database, tortoise_config
from storage.schema_operations import declared_indexes, present_indexes


async def test_models_and_migrations_agree(tmp_path: Path) -> None:
    config = tortoise_config(f"sqlite:///{tmp_path / 'check.sqlite3'}")
    async with tortoise_cli_context(config) as context:
        assert context.apps is not None
        writers = await MigrationAutodetector(context.apps, config["apps"]).changes()
    assert writers == [], "models changed without a migration: run tortoise makemigrations (see README)"


async def test_every_declared_index_is_in_the_migrated_database(database_url: str) -> None:
    # Tortoise 1.1.9's AddField adds a column without the index its db_index asks for: the models and the
    # migration state agree, the database has no index, and a lookup by that column reads the whole table.
    async with open_database(database_url):
        present = await present_indexes(connections.get("default"))
        missing = [f"{model._meta.db_table}{columns}" for model in Tortoise.apps["plaint"].values()
                   for columns in declared_indexes(model) if columns not in present.get(model._meta.db_table, set())]
    assert missing == [], missing
