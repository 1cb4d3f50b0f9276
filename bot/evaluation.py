"""Score retrieval and answers on a question set in the format of ``shared/eval/dev.jsonl``.

Matching folds both sides (lowercase, accents stripped, đ -> d, non-alphanumerics
-> spaces). A hit is a returned passage from the gold document containing the
gold snippet. A fact is a list of alternatives; it is recalled when the answer
contains any of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.service import ChatService
from ingest.folding import fold


class EvalFileError(ValueError):
    """The question file is unreadable; the message names the line."""


def load_questions(path: Path) -> list[dict[str, Any]]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"{path}: không đọc được tệp ({exc})") from exc
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalFileError(f"{path}:{number}: không phải JSON hợp lệ ({exc.msg})") from exc
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            raise EvalFileError(f"{path}:{number}: thiếu trường 'question'")
        item.setdefault("id", f"line-{number}")
        item.setdefault("answerable", bool(item.get("gold")))
        item.setdefault("gold", [])
        item.setdefault("facts", [])
        questions.append(item)
    if not questions:
        raise EvalFileError(f"{path}: không có câu hỏi nào")
    return questions


def _contains(haystack: str, needle: str) -> bool:
    return fold(needle) in fold(haystack)


@dataclass
class Row:
    id: str
    question: str
    answerable: bool
    rank: int | None  # 1-based rank of the first gold passage in the top 10
    answered: bool
    facts_found: int
    facts_total: int


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)

    def _answerable(self) -> list[Row]:
        return [r for r in self.rows if r.answerable]

    @property
    def hit_at_5(self) -> float:
        rows = self._answerable()
        return sum(1 for r in rows if r.rank is not None and r.rank <= 5) / max(1, len(rows))

    @property
    def mrr_at_10(self) -> float:
        rows = self._answerable()
        return sum(1 / r.rank for r in rows if r.rank) / max(1, len(rows))

    @property
    def fact_recall(self) -> float:
        total = sum(r.facts_total for r in self._answerable())
        return sum(r.facts_found for r in self._answerable()) / total if total else 0.0

    @property
    def refusal_accuracy(self) -> float:
        rows = [r for r in self.rows if not r.answerable]
        return sum(1 for r in rows if not r.answered) / len(rows) if rows else 1.0

    @property
    def false_refusals(self) -> int:
        return sum(1 for r in self._answerable() if not r.answered)

    def summary(self) -> dict[str, Any]:
        return {
            "questions": len(self.rows),
            "answerable": len(self._answerable()),
            "hit@5": round(self.hit_at_5, 3),
            "mrr@10": round(self.mrr_at_10, 3),
            "fact_recall": round(self.fact_recall, 3),
            "refusal_accuracy": round(self.refusal_accuracy, 3),
            "unanswerable": len(self.rows) - len(self._answerable()),
            "answerable_refused": self.false_refusals,
        }


def evaluate(service: ChatService, questions: list[dict[str, Any]]) -> Report:
    report = Report()
    for item in questions:
        passages = service.search(item["question"], 10)
        rank = next(
            (
                i for i, p in enumerate(passages, start=1)
                if any(p.document.source == g.get("doc") and _contains(p.chunk.text, g.get("snippet", ""))
                       for g in item["gold"])
            ),
            None,
        )
        answer = service.chat(item["question"])
        facts = [f if isinstance(f, list) else [f] for f in item["facts"]]
        found = sum(1 for alternatives in facts if any(_contains(answer.answer, a) for a in alternatives))
        report.rows.append(
            Row(item["id"], item["question"], bool(item["answerable"]), rank, answer.answered, found, len(facts))
        )
    return report
