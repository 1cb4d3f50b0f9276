"""Calibrating the support check on labelled sentence–passage pairs (``tests/data/grounding_pairs.jsonl``).

Each pair: a sentence as a language model might write it, the passage it cites (exact text of a
sample document, with its document label and section), and whether the passage supports it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.grounding import Evidence, Facts, overlap


@dataclass(frozen=True)
class Scored:
    id: str
    kind: str
    label: bool  # the passage supports the sentence
    facts_ok: bool  # every number, date and agency of the sentence is in the passage
    overlap: float

    def predict(self, threshold: float) -> bool:
        return self.facts_ok and self.overlap >= threshold


def load_pairs(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(pair: dict) -> Scored:
    evidence = Evidence.of([pair["document"], pair["section"], pair["passage"]])
    facts_ok = not Facts.of(pair["sentence"]).unsupported(evidence.facts)
    return Scored(pair["id"], pair["kind"], bool(pair["label"]), facts_ok, overlap(pair["sentence"], evidence))


def accuracy(scored: Sequence[Scored], threshold: float) -> float:
    return sum(s.predict(threshold) == s.label for s in scored) / len(scored) if scored else 0.0


def calibrate(scored: Sequence[Scored]) -> tuple[float, float]:
    """The threshold with the best accuracy — the middle of the best interval, two decimals — and that accuracy."""
    cuts = sorted({0.0, 1.0, *(round(s.overlap, 4) for s in scored)})
    # Any threshold in (cuts[i - 1], cuts[i]] judges like cuts[i]; take the widest best run.
    runs: list[tuple[float, float, float]] = []  # (accuracy, low end, high end)
    for i, cut in enumerate(cuts):
        acc = accuracy(scored, cut)
        if runs and runs[-1][0] == acc:
            runs[-1] = (acc, runs[-1][1], cut)
        else:
            runs.append((acc, cuts[i - 1] if i else 0.0, cut))
    best, lo, hi = max(runs, key=lambda run: (run[0], run[2] - run[1]))
    threshold = round((lo + hi) / 2 if lo < hi else hi, 2)
    return threshold, accuracy(scored, threshold)


def leave_one_out(scored: Sequence[Scored]) -> float:
    """Accuracy when each pair is judged with a threshold calibrated on all the others."""
    right = 0
    for i, item in enumerate(scored):
        threshold, _ = calibrate([s for j, s in enumerate(scored) if j != i])
        right += item.predict(threshold) == item.label
    return right / len(scored) if scored else 0.0
