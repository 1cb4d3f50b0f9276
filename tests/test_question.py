"""Reading a question once (vectorstore.question), from the vocabulary tables — no model, no index."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.folding import fold, toned
from vectorstore.mentions import Period
from vectorstore.phrases import Phrase, PhraseTable
from vectorstore.question import read_question
from vectorstore.text import default_lexicon, tokens

TABLE = Path(__file__).parent / "data" / "questions_readings.tsv"


def rows() -> list[list[str]]:
    lines = TABLE.read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line.strip() and not line.startswith("#")]


def listed(cell: str) -> set[str]:
    return set() if cell == "-" else {item.strip() for item in cell.split(",")}


def period_text(period: Period | None) -> str:
    if period is None:
        return "-"
    year = f"/{period.year}" if period.year else ""
    if period.kind == "month":
        return f"month:{min(period.months)}{year}"
    if period.kind == "quarter":
        return f"quarter:{(min(period.months) - 1) // 3 + 1}{year}"
    if period.kind == "year":
        return f"year:{period.year}"
    return period.kind


@pytest.mark.parametrize("row", rows(), ids=lambda row: row[0][:50])
def test_readings_table(row):
    question, language, intents, agencies, places, period, documents, articles, expected_words = row
    q = read_question(question, default_lexicon())
    assert q.language == language
    assert set(q.intents) == listed(intents)
    assert {a.id for a in q.agencies} == listed(agencies)
    assert {p.name for p in q.places} == listed(places)
    assert period_text(q.period) == period
    assert [d.text for d in q.documents] == ([] if documents == "-" else documents.split("|"))
    found = ["/".join(filter(None, (a.article, a.clause, a.point))) for a in q.articles]
    assert found == ([] if articles == "-" else articles.split("|"))
    for item in expected_words.split():
        assert (item[1:] in q.content) == item.startswith("+"), (item, sorted(q.content))


def test_the_table_covers_every_kind_of_reading():
    table = rows()
    assert len(table) >= 40
    assert {r[1] for r in table} == {"vi", "en"}
    assert {i for r in table for i in listed(r[2])} == {"when", "how_many", "who", "signer", "duty", "where"}
    assert all(any(r[col] != "-" for r in table) for col in range(3, 8))


@pytest.mark.parametrize(
    ("toned", "plain"),
    [("Sở Giáo dục và Đào tạo có nhiệm vụ gì trong Quý I?", None),
     ("Văn phòng UBND tỉnh Lai Châu phải báo cáo 6 tháng trước ngày nào?", None),
     ("Sở Y tế phối hợp thực hiện những việc gì?", None)],
)
def test_the_same_question_reads_the_same_without_diacritics(toned, plain):
    a = read_question(toned, default_lexicon())
    b = read_question(plain or fold(toned), default_lexicon())
    assert a.intents == b.intents and a.period == b.period and a.terms == b.terms
    assert [x.id for x in a.agencies] == [x.id for x in b.agencies]


def test_agencies_keep_their_place_in_the_text():
    """A follow-up can swap the agency as the question wrote it, with or without diacritics."""
    for text in ("so gd dt co nhiem vu gi", "Sở GD&ĐT có nhiệm vụ gì?", "nhiệm vụ của Sở Giáo dục và Đào tạo"):
        (agency,) = read_question(text, default_lexicon()).agencies
        assert agency.id == "so-gddt" and fold(text[agency.start:agency.end]).startswith("so g")


def test_the_rest_of_a_question_leaves_out_the_asking_and_the_agency():
    q = read_question("Sở Y tế phối hợp với Sở Công Thương làm gì trong tháng 11?", default_lexicon())
    health = next(a for a in q.agencies if a.id == "so-y-te")
    assert q.rest(excluding=health) == ["so", "cong", "thuong"]
    english = read_question("what must a school register in Q1", default_lexicon())
    assert english.rest(excluding=english.agencies[0]) == ["dang", "ky"]  # "register", translated


def test_numbers_of_an_english_question_are_content():
    q = read_question("Which police must achieve a 95% clearance rate?", default_lexicon())
    assert q.english and "95" in q.content


def test_tokens_repair_and_keep_offsets():
    text = "Quý 1, Q2 và S6: v6i 06 tháng"
    found = tokens(text)
    assert [t.word for t in found] == ["quy", "i", "quy", "ii", "va", "so", "voi", "6", "thang"]
    assert all(text[t.start:t.end] for t in found)
    assert found[0].toned != found[0].word  # "Quý" keeps its spelling


def test_phrase_table_gaps_and_spellings():
    table = PhraseTable([Phrase(("ai",), ("ky",), "signer"), Phrase((toned("đâu"),), value="where", toned=True)])
    assert [m.value for m in table.matches("ai la nguoi ky".split())] == ["signer"]
    assert not list(table.matches(["ai"] + ["x"] * 9 + ["ky"]))  # too far apart
    assert not list(table.matches(["dau"], ["dau"]))  # "dau" typed without diacritics is not "đâu"
    assert [m.value for m in table.matches(["dau"], [toned("Đâu")])] == ["where"]
