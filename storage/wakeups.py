"""Wake-ups across processes on PostgreSQL, each side on one dedicated connection (never one of the ORM pool's:
a listening connection must stay open, and a pooled one is handed to queries).

`PostgresAnnouncer` NOTIFYs after the caller's own commit, off the caller's path, rings coalesced, in
transactions that do not wait for their WAL flush (`synchronous_commit` off: a lost announcement costs a poll,
never data). Not inside the insert's transaction: PostgreSQL holds one cluster-wide lock from a notifying
transaction's pre-commit to its end, WAL flush included, so notifying inserts stop sharing a flush (group commit);
bench/notify_commit.py measures it.

`PostgresWakeups` LISTENs and calls a callback when a channel is notified. The callbacks only wake workers that
poll anyway: while a connection is down they find their rows at their next poll, and both sides reconnect with
back-off (the listener wakes its workers once on each reconnect, for what was announced meanwhile)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import asyncpg
from tortoise import connections

log = logging.getLogger(__name__)

_RECONNECT_FIRST_SECONDS = 1.0
_RECONNECT_MAX_SECONDS = 30.0


def _connect_arguments(connection_name: str) -> dict[str, Any]:
    # The same server, database and credentials as the ORM's pool (Tortoise parsed them from the URL).
    client: Any = connections.get(connection_name)
    return {
        "host": client.host, "port": client.port, "user": client.user, "password": client.password,
        "database": client.database, "server_settings": dict(client.server_settings or {}),
        **{key: value for key, value in client.extra.items() if key == "ssl"},
    }


async def _keep_connected(
    connection_name: str, use: Callable[[asyncpg.Connection], Awaitable[None]], doing: str,
    server_settings: Mapping[str, str] | None = None,
) -> None:
    """Until cancelled: one dedicated connection handed to `use` until it returns (the connection was lost) or
    fails, then another after a back-off. Never fatal: the workers poll anyway."""
    delay = _RECONNECT_FIRST_SECONDS
    while True:
        connection: asyncpg.Connection | None = None
        try:
            arguments = _connect_arguments(connection_name)
            arguments["server_settings"].update(server_settings or {})
            connection = await asyncpg.connect(**arguments)
            delay = _RECONNECT_FIRST_SECONDS
            await use(connection)
            log.warning("wake-ups: the connection to %s was lost; workers poll until it is back", doing)
        except Exception as error:
            log.warning("wake-ups: cannot %s (%s); workers poll, retrying in %.0f s", doing, type(error).__name__,
                        delay)
        finally:
            if connection is not None and not connection.is_closed():
                connection.terminate()
        await asyncio.sleep(delay)
        delay = min(delay * 2, _RECONNECT_MAX_SECONDS)


class PostgresAnnouncer:
    """`ring()` (no I/O, never waits) after a commit; `run()` sends one NOTIFY for every burst of rings."""

    def __init__(self, channel: str, connection_name: str = "default") -> None:
        self._channel = channel
        self._connection_name = connection_name
        self._rung = asyncio.Event()
        # Announcements sent (tests, benches).
        self.sent = 0

    def ring(self) -> None:
        self._rung.set()

    async def run(self) -> None:
        """Until cancelled."""
        await _keep_connected(self._connection_name, self._announce, "announce", {"synchronous_commit": "off"})

    async def _announce(self, connection: asyncpg.Connection) -> None:
        while True:
            await self._rung.wait()
            # Cleared first: a ring during the NOTIFY is announced by the next one.
            self._rung.clear()
            await connection.execute("SELECT pg_notify($1, '')", self._channel)
            self.sent += 1


class PostgresWakeups:
    """Listens for NOTIFY on the ORM's PostgreSQL server; `listening` says whether notifications arrive now."""

    def __init__(self, callbacks: Mapping[str, Callable[[], None]], connection_name: str = "default") -> None:
        self._callbacks = dict(callbacks)
        self._connection_name = connection_name
        self.listening = asyncio.Event()

    def _wake_all(self) -> None:
        for callback in self._callbacks.values():
            callback()

    async def run(self) -> None:
        """Until cancelled: listen, and reconnect when the connection is lost."""
        await _keep_connected(self._connection_name, self._listen, "listen")

    async def _listen(self, connection: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        connection.add_termination_listener(_lost_when_terminated(lost))
        try:
            for channel, callback in self._callbacks.items():
                await connection.add_listener(channel, _notified(callback))
            self.listening.set()
            # Anything announced while nobody listened is taken now rather than at the next poll.
            self._wake_all()
            await _until_lost(connection, lost)
        finally:
            self.listening.clear()


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
