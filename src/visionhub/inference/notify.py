"""Wake-ups for long-polls: a worker waiting for work, a client waiting for its result.

A waiter registers an ``Event`` under the keys it cares about (deployment ids for work, request
ids for results) BEFORE it looks at the database, then sleeps on the event with the database
connection released; so a wake-up between its look and its sleep is never lost.

Wake-ups cross processes (several gunicorn processes, the CLI, other API servers):

- PostgreSQL: writers ``NOTIFY`` inside their transaction (delivered on commit, dropped on
  rollback); every process runs one listener thread on a dedicated connection that ``LISTEN``s
  and sets the events of the keys named in the payload.
- SQLite has no notifications. Every process runs one watcher thread that polls
  ``PRAGMA data_version`` (it changes when another connection commits) every
  ``SQLITE_POLL_SECONDS`` and wakes every waiter, who then re-checks with one cheap read.

In the writer's own process the events are also set directly on commit, which is the fastest
path and the only one that needs no thread.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.db import connection, transaction

log = logging.getLogger(__name__)

WORK_CHANNEL = "visionhub_work"
DONE_CHANNEL = "visionhub_done"
ANY = "*"  # the key of waiters that want every wake-up of a channel
SQLITE_POLL_SECONDS = 0.05
LISTEN_TIMEOUT_SECONDS = 5.0
# A NOTIFY payload must stay under 8000 bytes; longer lists become "wake everyone".
MAX_PAYLOAD = 7000

T = TypeVar("T")


class Waiters:
    """Events of the threads waiting on one channel, by key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[Hashable, set[threading.Event]] = defaultdict(set)

    @contextmanager
    def watching(self, keys: Iterable[Hashable]) -> Iterator[threading.Event]:
        event = threading.Event()
        keys = list(keys)
        with self._lock:
            for key in keys:
                self._by_key[key].add(event)
        try:
            yield event
        finally:
            with self._lock:
                for key in keys:
                    events = self._by_key.get(key)
                    if events is not None:
                        events.discard(event)
                        if not events:
                            del self._by_key[key]

    def wake(self, keys: Iterable[Hashable] | None) -> None:
        """Wake the waiters of ``keys`` and those watching ``ANY``; ``None`` wakes everyone."""
        with self._lock:
            if keys is None:
                events = {e for group in self._by_key.values() for e in group}
            else:
                events = set(self._by_key.get(ANY, ()))
                for key in keys:
                    events |= self._by_key.get(key, set())
        for event in events:
            event.set()

    def __len__(self) -> int:
        with self._lock:
            return len({e for group in self._by_key.values() for e in group})


work_waiters = Waiters()
done_waiters = Waiters()
# Set when this process is stopping: every long-poll answers with what it has, at once.
stopping = threading.Event()
_CHANNELS = {WORK_CHANNEL: work_waiters, DONE_CHANNEL: done_waiters}


def _payload(ids: Collection[int]) -> str:
    text = ",".join(str(i) for i in sorted(set(ids)))
    return "" if len(text) > MAX_PAYLOAD else text


def _keys(payload: str) -> list[Hashable] | None:
    if not payload:
        return None
    return [int(part) for part in payload.split(",") if part.isdigit()]


def _announce(channel: str, ids: Collection[int]) -> None:
    if not ids:
        return
    waiters = _CHANNELS[channel]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [channel, _payload(ids)])
    keys = list(set(ids))
    transaction.on_commit(lambda: waiters.wake(keys))


def announce_work(deployment_ids: Collection[int]) -> None:
    """Tell waiting workers, once the current transaction commits, that these have new work."""
    _announce(WORK_CHANNEL, deployment_ids)


def announce_done(request_ids: Collection[int]) -> None:
    """Tell clients waiting on these requests, once the transaction commits, that they ended."""
    _announce(DONE_CHANNEL, request_ids)


# --- the per-process listener -----------------------------------------------------------------


class _Listener:
    """One daemon thread per process that turns other processes' commits into wake-ups."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.ready = threading.Event()

    def ensure_started(self) -> None:
        with self._lock:
            alive = self._thread is not None and self._thread.is_alive()
            if alive and self._pid == os.getpid():
                return
            # First use, or a fork copied the object without its thread.
            self._pid = os.getpid()
            self.ready = threading.Event()
            vendor = connection.vendor
            settings_dict = dict(connection.settings_dict)
            target: Callable[[dict[str, object]], None]
            target = self._listen_postgres if vendor == "postgresql" else self._watch_sqlite
            self._thread = threading.Thread(
                target=self._run, args=(target, settings_dict), name="visionhub-notify", daemon=True
            )
            self._thread.start()
        self.ready.wait(timeout=5)

    def _run(
        self, target: Callable[[dict[str, object]], None], settings_dict: dict[str, object]
    ) -> None:
        backoff = 0.5
        while True:
            try:
                target(settings_dict)
            except Exception:
                log.warning("notification listener failed; reconnecting", exc_info=True)
            # Whatever happened while we were not listening, everyone re-checks.
            work_waiters.wake(None)
            done_waiters.wake(None)
            time.sleep(backoff)
            backoff = min(backoff * 2, 10.0)

    def _listen_postgres(self, s: dict[str, object]) -> None:
        import psycopg

        params = {
            "dbname": s.get("NAME"),
            "user": s.get("USER") or None,
            "password": s.get("PASSWORD") or None,
            "host": s.get("HOST") or None,
            "port": s.get("PORT") or None,
        }
        conninfo = psycopg.conninfo.make_conninfo(
            connect_timeout=10,
            application_name="visionhub-listener",
            **{k: str(v) for k, v in params.items() if v},
        )
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"LISTEN {WORK_CHANNEL}")
            conn.execute(f"LISTEN {DONE_CHANNEL}")
            self.ready.set()
            while True:
                for note in conn.notifies(timeout=LISTEN_TIMEOUT_SECONDS):
                    waiters = _CHANNELS.get(note.channel)
                    if waiters is not None:
                        waiters.wake(_keys(note.payload))

    def _watch_sqlite(self, s: dict[str, object]) -> None:
        db = sqlite3.connect(str(s["NAME"]), timeout=30, check_same_thread=False)
        try:
            last = db.execute("PRAGMA data_version").fetchone()[0]
            self.ready.set()
            while True:
                time.sleep(SQLITE_POLL_SECONDS)
                version = db.execute("PRAGMA data_version").fetchone()[0]
                if version != last:
                    last = version
                    work_waiters.wake(None)
                    done_waiters.wake(None)
        finally:
            db.close()


listener = _Listener()


def stop_waiting() -> None:
    """End every long-poll of this process now, and any started later (the server is stopping:
    its graceful stop waits for requests in flight, which should not be sleeping)."""
    stopping.set()
    work_waiters.wake(None)
    done_waiters.wake(None)


def release_connection() -> None:
    """Give the thread's database connection back while it sleeps (not inside a transaction)."""
    if not connection.in_atomic_block:
        connection.close()


def wait_for(
    check: Callable[[], T | None],
    *,
    waiters: Waiters,
    keys: Iterable[Hashable],
    timeout: float,
    recheck_seconds: float = 2.0,
) -> T | None:
    """Call ``check`` until it returns something or ``timeout`` seconds pass.

    Between calls the thread sleeps with no database connection, until a wake-up for one of
    ``keys`` arrives or ``recheck_seconds`` pass (a safety net for wake-ups lost while a
    listener reconnects). Returns ``check``'s last answer (``None`` on timeout, or at once
    when the process is stopping).
    """
    deadline = time.monotonic() + max(0.0, timeout)
    keys = list(keys)
    if timeout > 0:
        listener.ensure_started()
    while True:
        with waiters.watching(keys) as event:
            result = check()
            remaining = deadline - time.monotonic()
            if result is not None or remaining <= 0 or stopping.is_set():
                return result
            release_connection()
            event.wait(min(remaining, recheck_seconds))
