"""Migration operations Tortoise's own do not cover on every backend we support."""

from __future__ import annotations

import itertools

from tortoise import Model
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state import State


class PortableAlterField(ops.AlterField):
    """AlterField for a change of column type only (no rename, index or uniqueness change).

    Tortoise 1.1.9's MySQL editor sends MODIFY COLUMN and then, because the old and new SQL types still differ,
    PostgreSQL's `ALTER COLUMN ... TYPE` too, which MySQL/MariaDB refuse. There one MODIFY COLUMN is the whole
    change; every other backend takes Tortoise's path unchanged."""

    async def database_forward(
        self, app_label: str, old_state: State, new_state: State, state_editor: BaseSchemaEditor | None = None
    ) -> None:
        if state_editor is None or state_editor.DIALECT != "mysql":
            await super().database_forward(app_label, old_state, new_state, state_editor)
            return
        await self._modify_column(app_label, new_state, state_editor)

    async def database_backward(
        self, app_label: str, old_state: State, new_state: State, state_editor: BaseSchemaEditor | None = None
    ) -> None:
        if state_editor is None or state_editor.DIALECT != "mysql":
            await super().database_backward(app_label, old_state, new_state, state_editor)
            return
        await self._modify_column(app_label, new_state, state_editor)

    async def _modify_column(self, app_label: str, state: State, editor: BaseSchemaEditor) -> None:
        model = state.apps.get_model(f"{app_label}.{self.model_name}")
        field = model._meta.fields_map[self.name]
        table = editor._qualify_table_name(model._meta.db_table, model._meta.schema)
        await editor._run_sql(editor._build_modify_column_sql(model, field, table))  # type: ignore[attr-defined]


# (table, index, column) of every index of the current database, in column order within each index.
_INDEX_COLUMNS = {
    "postgres": (
        "SELECT t.relname AS table_name, i.relname AS index_name, a.attname AS column_name "
        "FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid "
        "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, position) "
        "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
        "WHERE n.nspname = current_schema() ORDER BY t.relname, i.relname, k.position"
    ),
    "mysql": (
        "SELECT table_name AS table_name, index_name AS index_name, column_name AS column_name "
        "FROM information_schema.statistics "
        "WHERE table_schema = DATABASE() ORDER BY table_name, index_name, seq_in_index"
    ),
    "sqlite": (
        "SELECT m.name AS table_name, l.name AS index_name, i.name AS column_name "
        "FROM sqlite_master m, pragma_index_list(m.name) l, pragma_index_info(l.name) i "
        "WHERE m.type = 'table' ORDER BY m.name, l.name, i.seqno"
    ),
}


async def present_indexes(connection: BaseDBAsyncClient) -> dict[str, set[tuple[str, ...]]]:
    """The column lists of the database's indexes, by table."""
    rows = await connection.execute_query_dict(_INDEX_COLUMNS[connection.capabilities.dialect])
    present: dict[str, set[tuple[str, ...]]] = {}
    for (table, _), columns in itertools.groupby(rows, key=lambda row: (row["table_name"], row["index_name"])):
        present.setdefault(table, set()).add(tuple(row["column_name"] for row in columns))
    return present


def declared_indexes(model: type[Model]) -> dict[tuple[str, ...], list[str]]:
    """The indexes a model asks for (its `db_index` fields and its Meta.indexes): the columns each covers, and the
    field names that make it."""
    meta = model._meta
    declared = [[name] for name, field in meta.fields_map.items()
                if field.index and not field.pk and name in meta.fields_db_projection]
    for index in meta.indexes:  # tuples of field names in the models, Index objects in the migration state
        declared.append(list(index.fields if isinstance(index, Index) else index))
    return {tuple(meta.fields_db_projection[name] for name in names): names for names in declared}


class CreateMissingIndexes(ops.TortoiseOperation):
    """Every index the models declare that the database lacks. Tortoise 1.1.9 loses indexes on two paths: AddField
    adds a column without the index its db_index asks for (0006: Case.phone_hash, email_hash), and SQLite's table
    rebuild for an altered column drops the table's indexes with it (Case, Conversation, OutboxItem... on SQLite).
    The migration state is right already, so only the database changes; an index gets the name a new table's
    would have. Nothing to undo backwards: the indexes belong to the schema before this migration as well."""

    def describe(self) -> str:
        return "Create the declared indexes the database lacks"

    def state_forward(self, app_label: str, state: State) -> None:
        return None

    async def database_forward(
        self, app_label: str, old_state: State, new_state: State, state_editor: BaseSchemaEditor | None = None
    ) -> None:
        if state_editor is None:
            return
        present = await present_indexes(state_editor.client)
        for model in new_state.apps.apps[app_label].values():
            for columns, names in declared_indexes(model).items():
                if columns not in present.get(model._meta.db_table, set()):
                    await state_editor.add_index(model, Index(fields=names))

    async def database_backward(
        self, app_label: str, old_state: State, new_state: State, state_editor: BaseSchemaEditor | None = None
    ) -> None:
        return None

