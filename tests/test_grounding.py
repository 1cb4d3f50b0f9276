"""The sentence–passage support check: its labelled pairs, its calibration and its fact rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.grounding import THRESHOLD, Evidence, Facts, check
from bot.grounding_calibration import accuracy, calibrate, load_pairs, score

ROOT = Path(__file__).resolve().parent.parent
PAIRS = load_pairs(ROOT / "tests" / "data" / "grounding_pairs.jsonl")


def test_the_labelled_pairs_are_hand_written_on_the_sample_documents():
    assert len(PAIRS) >= 60 and len({p["id"] for p in PAIRS}) == len(PAIRS)
    assert {True, False} == {p["label"] for p in PAIRS}
    kinds = {p["kind"] for p in PAIRS if not p["label"]}
    assert {"wrong_date", "wrong_agency", "number_changed", "other_section", "invented"} <= kinds
    for p in PAIRS:
        assert p["passage"] in (ROOT / "samples" / p["source"]).read_text(encoding="utf-8"), p["id"]


def test_the_shipped_threshold_is_calibrated_and_judges_nine_pairs_in_ten():
    scored = [score(p) for p in PAIRS]
    threshold, best = calibrate(scored)
    assert threshold == pytest.approx(THRESHOLD, abs=0.01)
    assert accuracy(scored, THRESHOLD) == best >= 0.9


PASSAGE = ("Định kỳ 6 tháng (trước 10/6), 01 năm (trước ngày 10/12/2026) gửi báo cáo về Công an tỉnh; "
           "Sở GD&ĐT hoàn thành trong tháng 11/2026, Quý II/2026 lựa chọn 20 địa bàn.")


@pytest.mark.parametrize(("sentence", "missing"), [
    ("Báo cáo 6 tháng gửi trước ngày 10/6.", []),
    ("Báo cáo năm gửi trước ngày 10 tháng 12 năm 2026.", []),  # written in words
    ("Báo cáo năm gửi trước ngày 10/12.", []),  # the year left out
    ("Báo cáo 6 tháng gửi trước ngày 10/6/2026.", []),  # the year from elsewhere in the passage
    ("Báo cáo 6 tháng gửi trước ngày 15/6.", ["15/6"]),
    ("Báo cáo năm gửi trước ngày 10/12/2025.", ["10/12/2025"]),
    ("Sở Giáo dục và Đào tạo hoàn thành trong tháng 11/2026.", []),  # alias of Sở GD&ĐT
    ("Sở GD&ĐT hoàn thành trong tháng 10/2026.", ["tháng 10/2026"]),
    ("Trong quý 2 năm 2026 lựa chọn 20 địa bàn.", []),
    ("Trong Quý III/2026 lựa chọn 20 địa bàn.", ["quý 3/2026"]),
    ("Lựa chọn 02 địa bàn.", ["2"]),  # "02" of "10/12" is a day, not a count
    ("Gửi báo cáo về Sở Nội vụ.", ["so-noi-vu"]),
])
def test_numbers_dates_and_agencies_must_be_in_the_passage(sentence, missing):
    assert Facts.of(sentence).unsupported(Evidence.of([PASSAGE]).facts) == missing


def test_a_sentence_about_something_else_is_not_supported_though_it_names_the_agency():
    evidence = Evidence.of(["III › 7. Sở Y tế", "Sở Y tế chủ trì hỗ trợ nạn nhân bị mua bán."])
    assert check("Sở Y tế chủ trì hỗ trợ nạn nhân bị mua bán.", evidence).supported
    verdict = check("Sở Y tế bảo đảm kinh phí thực hiện kế hoạch.", evidence)
    assert not verdict.supported and verdict.overlap < THRESHOLD and not verdict.missing
