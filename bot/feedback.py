"""Answers given over HTTP and the officers' thumbs up/down on them, in SQLite.

Every answer the chat endpoint returns is remembered under an ``answer_id``; a rating
names that id, so feedback is always stored with the question, answer and citations
it judges. Answers nobody rated are pruned beyond the newest :data:`KEEP_UNRATED`.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FILENAME = "feedback.sqlite3"
RATINGS = ("up", "down")
KEEP_UNRATED = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    answered INTEGER NOT NULL,
    citations TEXT NOT NULL,
    mode TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT PRIMARY KEY REFERENCES answers(id),
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


class UnknownAnswer(LookupError):
    """Feedback named an answer this store never gave (or has pruned)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class FeedbackStore:
    """One SQLite file; a connection per operation, so any thread may call it."""

    def __init__(self, path: Path, keep_unrated: int = KEEP_UNRATED) -> None:
        self.path = path
        self.keep_unrated = keep_unrated
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @classmethod
    def in_dir(cls, data_dir: Path) -> FeedbackStore:
        return cls(data_dir / FILENAME)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            with db:  # one transaction
                yield db

    def record_answer(self, question: str, answer: dict[str, Any]) -> str:
        """Remember an answer (the /api/chat object); returns its new ``answer_id``."""
        answer_id = uuid.uuid4().hex
        with self._connect() as db:
            db.execute(
                "INSERT INTO answers (id, created_at, question, answer, answered, citations, mode)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (answer_id, _now(), question, answer.get("answer", ""), int(bool(answer.get("answered"))),
                 json.dumps(answer.get("citations", []), ensure_ascii=False), str(answer.get("mode", ""))),
            )
            db.execute(
                "DELETE FROM answers WHERE seq <= (SELECT MAX(seq) FROM answers) - ?"
                " AND id NOT IN (SELECT answer_id FROM feedback)",
                (self.keep_unrated,),
            )
        return answer_id

    def answer(self, answer_id: str) -> dict[str, Any] | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM answers WHERE id = ?", (answer_id,)).fetchone()
        return None if row is None else _answer_dict(row)

    def rate(self, answer_id: str, rating: str, comment: str = "") -> dict[str, Any]:
        """Store (or change) the rating of an answer; :class:`UnknownAnswer` if there is no such answer."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}")
        now = _now()
        with self._connect() as db:
            if db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is None:
                raise UnknownAnswer(answer_id)
            db.execute(
                "INSERT INTO feedback (answer_id, rating, comment, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(answer_id) DO UPDATE SET rating = excluded.rating, comment = excluded.comment,"
                " updated_at = excluded.updated_at",
                (answer_id, rating, comment, now, now),
            )
        return {"answer_id": answer_id, "rating": rating, "comment": comment, "rated_at": now}

    def export(self) -> Iterator[dict[str, Any]]:
        """Every rating with the question, answer and citations it judges, oldest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT f.answer_id, f.rating, f.comment, f.created_at AS first_rated_at, f.updated_at AS rated_at,"
                " a.created_at, a.question, a.answer, a.answered, a.citations, a.mode"
                " FROM feedback f JOIN answers a ON a.id = f.answer_id ORDER BY f.created_at, a.seq"
            ).fetchall()
        for row in rows:
            yield {
                "answer_id": row["answer_id"], "rating": row["rating"], "comment": row["comment"],
                "rated_at": row["rated_at"], "first_rated_at": row["first_rated_at"],
                **_answer_dict(row, with_id=False),
            }


def _answer_dict(row: sqlite3.Row, with_id: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"answer_id": row["id"]} if with_id else {}
    out.update({
        "asked_at": row["created_at"], "question": row["question"], "answer": row["answer"],
        "answered": bool(row["answered"]), "citations": json.loads(row["citations"]), "mode": row["mode"],
    })
    return out
