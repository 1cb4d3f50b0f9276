"""What the channels remember, in one SQLite file in the data directory.

- the last few turns of each chat, passed to the service as ``history`` so follow-ups work;
- which deliveries were already taken (Telegram ``update_id``, Zalo ``msg_id``), so a
  re-delivered update is answered once;
- small state such as the Telegram polling offset, kept across restarts;
- the replies still to send (:mod:`bot.channels.jobs` keeps its table in this file too).

One connection guarded by a lock; WAL mode so the web server and ``chidao telegram poll``
can share the file.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.service import Turn

FILENAME = "channels.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL, chat_id TEXT NOT NULL,
    role TEXT NOT NULL, content TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS turns_chat ON turns (channel, chat_id, id);
CREATE TABLE IF NOT EXISTS deliveries (
    channel TEXT NOT NULL, key TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (channel, key));
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class StoreClosed(RuntimeError):
    """The store was closed (the process is shutting down)."""


class ChannelStore:
    """Per-chat history, delivery de-duplication and small state for the messaging channels."""

    def __init__(
        self,
        path: Path,
        keep_turns: int = 6,
        history_age: float = 24 * 3600,
        delivery_age: float = 7 * 24 * 3600,
    ) -> None:
        self.path = path
        self.keep_turns = keep_turns
        self.history_age = history_age
        self.delivery_age = delivery_age
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    @classmethod
    def in_dir(cls, data_dir: Path) -> ChannelStore:
        return cls(data_dir / FILENAME)

    def _db(self) -> sqlite3.Connection:
        """The connection, opened (and the schema made) on first use."""
        if self._closed:
            raise StoreClosed(str(self.path))
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection, inside one write transaction, for the time of the ``with`` block."""
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def add_schema(self, script: str) -> None:
        """Create more tables in this file (``CREATE … IF NOT EXISTS`` statements)."""
        with self._lock:
            self._db().executescript(script)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db().execute(sql, params).fetchall()

    # history

    def history(self, channel: str, chat_id: str) -> list[Turn]:
        """The chat's recent turns, oldest first."""
        since = time.time() - self.history_age
        with self._lock:
            rows = self._db().execute(
                "SELECT role, content FROM turns WHERE channel = ? AND chat_id = ? AND created >= ? "
                "ORDER BY id DESC LIMIT ?",
                (channel, chat_id, since, self.keep_turns),
            ).fetchall()
        return [Turn(role, content) for role, content in reversed(rows)]

    def record(self, channel: str, chat_id: str, question: str, answer: str) -> None:
        """Append one exchange and forget what falls out of the window."""
        now = time.time()
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO turns (channel, chat_id, role, content, created) VALUES (?, ?, ?, ?, ?)",
                [(channel, chat_id, "user", question, now), (channel, chat_id, "assistant", answer, now)],
            )
            db.execute(
                "DELETE FROM turns WHERE channel = ? AND chat_id = ? AND id NOT IN "
                "(SELECT id FROM turns WHERE channel = ? AND chat_id = ? ORDER BY id DESC LIMIT ?)",
                (channel, chat_id, channel, chat_id, self.keep_turns),
            )

    def forget(self, channel: str, chat_id: str) -> None:
        with self._lock:
            self._db().execute("DELETE FROM turns WHERE channel = ? AND chat_id = ?", (channel, chat_id))

    # de-duplication

    def claim(self, channel: str, key: str) -> bool:
        """True the first time ``key`` is seen on ``channel``; False for a re-delivery."""
        with self.transaction() as db:
            return self.claim_within(db, channel, key)

    def claim_within(self, db: sqlite3.Connection, channel: str, key: str) -> bool:
        """:meth:`claim` inside a transaction the caller holds (see :meth:`transaction`)."""
        now = time.time()
        cur = db.execute(
            "INSERT OR IGNORE INTO deliveries (channel, key, created) VALUES (?, ?, ?)", (channel, key, now)
        )
        if cur.rowcount:
            db.execute("DELETE FROM deliveries WHERE created < ?", (now - self.delivery_age,))
        return bool(cur.rowcount)

    # state

    def get_state(self, key: str) -> str | None:
        with self._lock:
            row = self._db().execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_state(self, key: str, value: str) -> None:
        with self._lock:
            self._db().execute(
                "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None
