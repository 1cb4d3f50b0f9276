"""Folding, repair, abbreviations and the English glossary shared by indexing and querying."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from ingest.folding import fold, fold_chars, toned, toned_words
from vectorstore.question import read_question
from vectorstore.text import default_lexicon, passage_terms, tokens, words


def analyse_query(text: str):
    return read_question(text, default_lexicon())


def test_fold_matches_the_eval_rule():
    assert fold("Sở GD&ĐT: Đăng ký “An toàn về ANTT”!") == "so gd dt dang ky an toan ve antt"
    assert fold("Quý I/2026 — 100%") == "quy i 2026 100"


def test_fold_chars_keeps_offsets():
    text = "Lào Cai, ngày 17 tháng 12 năm 2025"
    folded = fold_chars(text)
    assert len(folded) == len(text)
    assert folded == "lao cai, ngay 17 thang 12 nam 2025"


def test_toned_words_keep_tones_apart_whatever_the_mark_placement():
    assert toned("Hoà") == toned("hòa") and toned("Uỷ") == toned("Ủy")
    assert toned("nghị") != toned("nghỉ") != toned("nghi")
    assert toned("phạt") != toned("phát")
    assert toned_words("Lịch nghỉ Tết") == [toned("lịch"), toned("nghỉ"), toned("tết")]


def test_english_translation_keeps_its_diacritics():
    q = analyse_query("How much is the fine for speeding?")
    assert q.english and "phat" in q.translated and "phạt" in q.spelled


def test_words_repair_ocr_digits_quarters_and_percent():
    assert words("S6: v6i t01 x4") == ["so", "voi", "toi", "xa"]
    assert words("quý 1, Q2 và quy III") == ["quy", "i", "quy", "ii", "va", "quy", "iii"]
    assert words("06 tháng, 100%") == ["6", "thang", "100", "phan", "tram"]


def test_abbreviations_expand_on_both_sides():
    lexicon = default_lexicon()
    assert lexicon.expand_abbreviations(words("bảo đảm ANTT")) == ["an", "ninh", "trat", "tu"]
    assert "giao_duc" in passage_terms("Sở GD&ĐT", lexicon)
    assert {"phong_chong", "chong_toi", "toi_pham"} <= set(passage_terms("công tác PCTP"))
    q = analyse_query("nhiệm vụ của BCHQS tỉnh về PCCC")
    assert {"chi_huy", "quan_su", "chay_chua"} <= set(q.terms)


def test_english_questions_reach_vietnamese_terms():
    q = analyse_query("what must a school register in Q1")
    assert q.english
    assert {"co_so", "giao_duc", "dang_ky", "quy_i"} <= set(q.terms)
    assert "what" not in q.terms
    q = analyse_query("What is the Department of Health assigned?")
    assert {"so_y", "y_te"} <= set(q.terms)


def test_accentless_vietnamese_is_not_taken_for_english():
    q = analyse_query("co so giao duc dang ky gi trong quy 1")
    assert not q.english
    assert {"co_so", "dang_ky", "quy_i"} <= set(q.terms)
    assert "gi" not in q.terms


def test_question_frames_do_not_count_as_content():
    q = analyse_query("Công an tỉnh có trách nhiệm gì?")
    assert "trach_nhiem" not in q.terms
    assert {"cong_an", "an_tinh"} <= set(q.terms)
    q = analyse_query("Khu dân cư cần bao nhiêu phần trăm hộ gia đình đăng ký?")
    assert "bao_nhieu" not in q.terms and "phan_tram" in q.terms


def test_where_is_asked_not_searched():
    assert "dau" not in analyse_query("Kinh phí thực hiện kế hoạch lấy từ đâu?").content
    assert "dau" in analyse_query("Người đứng đầu phải làm gì?").content  # "đầu" is content


def test_english_question_with_vietnamese_names():
    q = analyse_query("what is Sở Y tế assigned")
    assert q.english and {"so", "y", "te"} <= q.content and "what" not in q.content
    assert not analyse_query("Kế hoạch do ai ban hành để bảo đảm an ninh?").english  # "do", "an" are Vietnamese


def test_words_are_remembered_but_each_caller_gets_its_own_list():
    text = "Sở Y tế báo cáo trong Quý I"
    first = words(text)
    first.append("changed")
    assert words(text) == ["so", "y", "te", "bao", "cao", "trong", "quy", "i"]
    assert words(text) is not words(text)


def test_words_are_the_tokens_words_on_every_sample_and_tricky_text():
    samples = Path(__file__).resolve().parent.parent / "samples"
    texts = [p.read_text(encoding="utf-8") for p in sorted(samples.glob("*.txt"))]
    texts += ["Q1 quý 1 Quý IV q4 Q5 25% v6i 06 Hoà hòa", "báo cáo Quý\n2 năm 2026; QUÝ III", ""]
    for text in texts:
        for line in text.splitlines() or [text]:
            assert words(line) == [t.word for t in tokens(unicodedata.normalize("NFC", line))], line
