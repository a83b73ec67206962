"""Wake-ups across processes on PostgreSQL: LISTEN on a dedicated connection (never one of the ORM pool's: a
listening connection must stay open and idle, and a pooled one is handed to queries), calling a callback when
a channel is notified. The callbacks only wake workers that poll anyway: while the connection is down they
find their rows at their next poll, and this reconnects with back-off (waking them once on each reconnect,
for what was announced meanwhile)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg
from tortoise import connections

log = logging.getLogger(__name__)

_RECONNECT_FIRST_SECONDS = 1.0
_RECONNECT_MAX_SECONDS = 30.0


class PostgresWakeups:
    """Listens for NOTIFY on the ORM's PostgreSQL server; `listening` says whether notifications arrive now."""

    def __init__(self, callbacks: Mapping[str, Callable[[], None]], connection_name: str = "default") -> None:
        self._callbacks = dict(callbacks)
        self._connection_name = connection_name
        self.listening = asyncio.Event()

    def _connect_arguments(self) -> dict[str, Any]:
        # The same server, database and credentials as the ORM's pool (Tortoise parsed them from the URL).
        client: Any = connections.get(self._connection_name)
        return {
            "host": client.host, "port": client.port, "user": client.user, "password": client.password,
            "database": client.database, "server_settings": dict(client.server_settings or {}),
            **{key: value for key, value in client.extra.items() if key == "ssl"},
        }

    def _wake_all(self) -> None:
        for callback in self._callbacks.values():
            callback()

    async def run(self) -> None:
        """Until cancelled: listen, and reconnect when the connection is lost."""
        delay = _RECONNECT_FIRST_SECONDS
        while True:
            lost = asyncio.Event()
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(**self._connect_arguments())
                connection.add_termination_listener(_lost_when_terminated(lost))
                for channel, callback in self._callbacks.items():
                    await connection.add_listener(channel, _notified(callback))
                self.listening.set()
                delay = _RECONNECT_FIRST_SECONDS
                # Anything announced while nobody listened is taken now rather than at the next poll.
                self._wake_all()
                await _until_lost(connection, lost)
                log.warning("wake-ups: the listening connection was lost; workers poll until it is back")
            except Exception as error:
                # Never fatal: the workers poll anyway.
                log.warning("wake-ups: cannot listen (%s); workers poll, retrying in %.0f s",
                            type(error).__name__, delay)
            finally:
                self.listening.clear()
                if connection is not None and not connection.is_closed():
                    connection.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RECONNECT_MAX_SECONDS)


def _lost_when_terminated(lost: asyncio.Event) -> Callable[[Any], None]:
    def on_termination(_connection: Any) -> None:
        lost.set()

    return on_termination


def _notified(callback: Callable[[], None]) -> Callable[..., None]:
    def on_notification(_connection: Any, _pid: int, _channel: str, _payload: str) -> None:
        callback()

    return on_notification


async def _until_lost(connection: asyncpg.Connection, lost: asyncio.Event, check_every: float = 10.0) -> None:
    """asyncpg reports a closed socket to the termination listener; a connection silently cut (a dead route, a
    failover) is only found by using it, hence the periodic check."""
    while not lost.is_set():
        try:
            await asyncio.wait_for(lost.wait(), check_every)
        except TimeoutError:
            try:
                await asyncio.wait_for(connection.execute("SELECT 1"), check_every)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                return
