"""The dev set, scored as `chidao eval` scores it: the issue's thresholds hold."""

from __future__ import annotations

import pytest

from bot.evaluation import EvalFileError, evaluate, load_questions
from tests.conftest import DEV_SET

pytestmark = pytest.mark.slow


def test_dev_set_meets_the_targets(seeded_service):
    report = evaluate(seeded_service, load_questions(DEV_SET))
    summary = report.summary()
    assert summary["hit@5"] >= 0.95, summary
    assert summary["mrr@10"] >= 0.85, summary
    assert summary["fact_recall"] >= 0.85, summary
    assert summary["refusal_accuracy"] == 1.0, summary
    assert summary["answerable_refused"] <= 1, summary


def test_bad_question_files_name_the_line(tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"question": "a"}\n{not json\n', encoding="utf-8")
    with pytest.raises(EvalFileError, match=r"q.jsonl:2"):
        load_questions(bad)
    bad.write_text('{"q": 1}\n', encoding="utf-8")
    with pytest.raises(EvalFileError, match="question"):
        load_questions(bad)
