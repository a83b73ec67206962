"""Migration operations Tortoise's own do not cover on every backend we support."""

from __future__ import annotations

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
