"""What operators' checks read: the database answering, migrations applied, worker heartbeats, outbox depth."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise import connections
from tortoise.functions import Count
from tortoise.migrations.executor import MigrationExecutor

from storage.database import APP_LABEL, tortoise_config
from storage.models import OutboxItem, WorkerHeartbeat


async def ping_database() -> None:
    """Raises whatever the driver raises when the database does not answer."""
    await connections.get("default").execute_query("SELECT 1")


async def pending_migrations() -> list[str]:
    """Names of migrations on disk that this database has not applied (empty when current)."""
    apps = tortoise_config("sqlite://:memory:")["apps"]
    executor = MigrationExecutor(connections.get("default"), {APP_LABEL: apps[APP_LABEL]})
    return [step.migration.name for step in await executor.plan() if not step.backward]


async def beat(worker: str) -> None:
    now = datetime.now(UTC)
    updated = await WorkerHeartbeat.filter(worker=worker).update(beat_at=now)
    if not updated:
        await WorkerHeartbeat.get_or_create(worker=worker, defaults={"beat_at": now})


async def last_beat(worker: str) -> datetime | None:
    row = await WorkerHeartbeat.get_or_none(worker=worker)
    return None if row is None else row.beat_at


async def heartbeats() -> dict[str, datetime]:
    return {row.worker: row.beat_at for row in await WorkerHeartbeat.all().order_by("worker")}


async def forget_worker(worker: str) -> None:
    await WorkerHeartbeat.filter(worker=worker).delete()


class TortoiseOutboxDepth:
    async def depth_by_kind(self) -> dict[str, int]:
        rows = (
            await OutboxItem.filter(status__in=("pending", "sending"))
            .annotate(items=Count("id"))
            .group_by("kind")
            .values("kind", "items")
        )
        return {str(row["kind"]): int(row["items"]) for row in rows}
