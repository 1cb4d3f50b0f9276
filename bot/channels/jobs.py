"""The replies still to send, in a table of the channel store: a webhook is acknowledged as soon as
its message is written here, and a restart loses nothing that was written.

A job is one inbound message. A worker takes it (``running``, under a lease), computes the reply
once and stores its messages, then sends them one by one, counting what was sent, so a job cut
short (a crash, a shutdown, an outage) resumes where it stopped instead of answering twice.
Jobs of one chat are taken strictly in order: a chat's next job waits while an earlier one is
running or waiting to be retried; other chats go ahead.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass

from bot.channels.history import ChannelStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL, chat TEXT NOT NULL, payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', owner TEXT, lease_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0, not_before REAL NOT NULL DEFAULT 0,
    messages TEXT, sent INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_chat ON jobs (channel, chat, id);
"""

# the chat's first unfinished job, when it is due and nobody holds it
_NEXT = """
SELECT j.id, j.payload, j.attempts, j.messages, j.sent FROM jobs j
WHERE j.channel = ? AND j.state = 'pending' AND j.not_before <= ?
  AND j.id = (SELECT MIN(k.id) FROM jobs k WHERE k.channel = j.channel AND k.chat = j.chat)
ORDER BY j.id LIMIT 1
"""


@dataclass(frozen=True)
class Job:
    id: int
    payload: str
    attempts: int
    messages: list[str] | None
    sent: int


class JobQueue:
    def __init__(self, store: ChannelStore) -> None:
        self.store = store
        store.add_schema(_SCHEMA)

    def put(self, channel: str, delivery: str, chat: str, payload: str) -> bool:
        """Queue a delivery; False (nothing queued) when ``delivery`` was seen before."""
        with self.store.transaction() as db:
            if not self.store.claim_within(db, channel, delivery):
                return False
            db.execute("INSERT INTO jobs (channel, chat, payload, created) VALUES (?, ?, ?, ?)",
                       (channel, chat, payload, time.time()))
            return True

    def take(self, channel: str, owner: str, lease: float) -> Job | None:
        """The next job that may run now, marked as ``owner``'s until ``lease`` seconds from now."""
        now = time.time()
        with self.store.transaction() as db:
            self._reclaim_expired(db, channel, now)
            row = db.execute(_NEXT, (channel, now)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE jobs SET state = 'running', owner = ?, lease_until = ? WHERE id = ?",
                       (owner, now + lease, row[0]))
        job_id, payload, attempts, messages, sent = row
        return Job(job_id, payload, attempts, json.loads(messages) if messages else None, sent)

    @staticmethod
    def _reclaim_expired(db: sqlite3.Connection, channel: str, now: float) -> None:
        db.execute("UPDATE jobs SET state = 'pending', owner = NULL WHERE channel = ? AND state = 'running' "
                   "AND lease_until < ?", (channel, now))

    def _owned(self, sql: str, params: tuple[object, ...], job: Job, owner: str) -> bool:
        with self.store.transaction() as db:
            cur = db.execute(sql + " WHERE id = ? AND owner = ? AND state = 'running'", (*params, job.id, owner))
            return bool(cur.rowcount)

    def save_messages(self, job: Job, owner: str, messages: list[str]) -> bool:
        """Keep the computed reply; False when the job is no longer ``owner``'s."""
        return self._owned("UPDATE jobs SET messages = ?", (json.dumps(messages, ensure_ascii=False),), job, owner)

    def mark_sent(self, job: Job, owner: str, sent: int) -> bool:
        """Record that the first ``sent`` messages went out; False when the job is no longer ``owner``'s."""
        return self._owned("UPDATE jobs SET sent = ?", (sent,), job, owner)

    def finish(self, job: Job, owner: str) -> None:
        self._owned("DELETE FROM jobs", (), job, owner)

    def retry_later(self, job: Job, owner: str, delay: float) -> None:
        self._owned("UPDATE jobs SET state = 'pending', owner = NULL, attempts = attempts + 1, not_before = ?",
                    (time.time() + delay,), job, owner)

    def release(self, owner: str) -> int:
        """Hand every job held by ``owner`` (or by a holder named ``owner-…``) back to the queue; how many."""
        with self.store.transaction() as db:
            cur = db.execute("UPDATE jobs SET state = 'pending', owner = NULL WHERE state = 'running' "
                             "AND (owner = ? OR substr(owner, 1, ?) = ?)", (owner, len(owner) + 1, owner + "-"))
            return cur.rowcount

    def holders(self, channel: str) -> set[str]:
        """Who holds running jobs of ``channel``."""
        rows = self.store.query("SELECT DISTINCT owner FROM jobs WHERE channel = ? AND state = 'running'", (channel,))
        return {row[0] for row in rows if row[0]}

    def pending(self, channel: str) -> int:
        """Jobs of ``channel`` not finished yet (waiting, running or waiting to be retried)."""
        return int(self.store.query("SELECT COUNT(*) FROM jobs WHERE channel = ?", (channel,))[0][0])
