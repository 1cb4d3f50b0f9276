"""The task table weighs an agency's tasks all at once exactly as the judge weighs each task's text."""

from __future__ import annotations

import pytest

from bot.task_table import TaskTables, TaskWords, task_text
from ingest.folding import fold

QUESTIONS = [
    "Công an tỉnh có trách nhiệm gì trong việc triển khai Kế hoạch 195 về phong trào thi đua?",
    "cong an tinh co trach nhiem gi trong viec trien khai ke hoach 195",
    "Sở Y tế phối hợp thực hiện những việc gì?",
    "Các ngành thành viên Ban Chỉ đạo tỉnh gửi báo cáo 6 tháng trước ngày nào?",
    "Cơ sở giáo dục phải đăng ký gì trong Quý I?",
    "what must a school register in Q1",
    "Sở Nội vụ phải nghỉ việc gì?",  # "nghỉ" written with diacritics is not "nghị"
    "UBND xã phải hoàn thành báo cáo trước ngày nào?",
    "Thôn, tổ dân phố phải làm gì trong quý I?",
]


@pytest.fixture(scope="module")
def answerer(seeded_service):
    return seeded_service.task_answerer


@pytest.mark.parametrize("asked", QUESTIONS + [fold(q) for q in QUESTIONS if not q.isascii()])
def test_shares_equal_the_judges_share_of_every_task(answerer, seeded_service, asked):
    question = seeded_service.retriever.analyse(asked)
    index, judge = answerer.index, answerer.judge
    agencies = [a.id for a in question.agencies if index.tasks_for(a.id)] or sorted(
        {v.task.agency_id for v in index.views()})[:3]
    compared = 0
    for agency_id in agencies:
        views = index.tasks_for(agency_id)
        table = TaskTables().table(agency_id, views)
        rest = question.rest()
        shares = table.shares(question, judge.weights(rest), judge.lexicon.equivalents)
        for view, share in zip(views, shares):
            assert share == pytest.approx(judge.share(question, rest, task_text(view)), abs=1e-9), view.task.quote
            compared += 1
    assert compared > 0


def test_a_table_is_remade_only_when_the_agencys_tasks_change(answerer):
    index = answerer.index
    agency_id = max({v.task.agency_id for v in index.views()}, key=lambda a: len(index.tasks_for(a)))
    views = index.tasks_for(agency_id)
    reads: list[str] = []
    tables = TaskTables(read=lambda text: reads.append(text) or TaskWords.read(text))
    first = tables.table(agency_id, views)
    assert len(reads) == len(views) and len(first) == len(views)
    assert tables.table(agency_id, list(views)) is first  # same tasks: the same table, nothing read
    fewer = tables.table(agency_id, views[1:])  # a task gone: a new table, no text read again
    assert fewer is not first and len(fewer) == len(views) - 1 and len(reads) == len(views)


def test_warm_reads_every_agencys_table_ahead(seeded_service, monkeypatch):
    answerer = seeded_service.task_answerer
    reads: list[str] = []
    monkeypatch.setattr(answerer, "tables", TaskTables(read=lambda text: reads.append(text) or TaskWords.read(text)))
    answerer.warm()
    agencies = {v.task.agency_id for v in answerer.index.views()}
    assert len(reads) == len(answerer.index.views())
    answer = seeded_service.chat("Sở Y tế phối hợp thực hiện những việc gì?")
    assert answer.answered and answer.mode == "tasks"
    assert len(reads) == len(answerer.index.views())  # nothing read at the question
    assert all(answerer.tables.table(a, answerer.index.tasks_for(a)) for a in agencies)
    assert len(reads) == len(answerer.index.views())


@pytest.mark.parametrize("asked", [
    "Công an tỉnh có trách nhiệm gì trong việc triển khai Kế hoạch 195 về phong trào thi đua?",
    "Sở Giáo dục và Đào tạo có nhiệm vụ gì trong Kế hoạch 999?",
    "UBND xã phải báo cáo gì trước ngày 15/6?",
])
def test_tasks_that_cannot_hold_a_named_number_are_not_read_and_the_answer_is_the_same(seeded_service, asked):
    answerer = seeded_service.task_answerer
    question = seeded_service.retriever.analyse(asked)
    passages = seeded_service.retriever.search_terms(question, seeded_service.answer_k)
    read: list[int] = []
    real = answerer.index.stating

    def counted(views):
        read.append(len(views))
        return real(views)

    answerer.index.stating = counted
    try:
        narrowed, narrowed_reads = answerer.answer(question, passages), sum(read)
        read.clear()
        answerer.lexical, lexical = None, answerer.lexical
        plain, plain_reads = answerer.answer(question, passages), sum(read)
    finally:
        answerer.lexical = lexical
        del answerer.index.stating
    assert (narrowed.answer if narrowed else None) == (plain.answer if plain else None)
    assert narrowed_reads <= plain_reads
    if asked.endswith("999?"):  # no passage holds 999: nothing is read
        assert narrowed_reads == 0 < plain_reads


def test_a_question_naming_nothing_reads_only_the_passages_it_shows(seeded_service, monkeypatch):
    from bot.task_answer import MAX_TASKS

    answerer = seeded_service.task_answerer
    read: list[int] = []
    real = answerer.index.stating
    monkeypatch.setattr(answerer.index, "stating", lambda views: read.append(len(views)) or real(views))
    answer = seeded_service.chat("Sở Y tế phối hợp thực hiện những việc gì?")
    assert answer.answered and answer.mode == "tasks" and answer.answer.count("\n- ") >= 2
    assert 0 < sum(read) <= 2 * MAX_TASKS


def test_a_tasks_words_are_read_without_filling_the_word_caches():
    """A table keeps each task's words; reading them must not push the passages' words out of the
    caches the search and the judge share (109,171 task texts at 100k passages filled them)."""
    from bot.judge import written_with_marks
    from ingest.folding import _toned_words
    from vectorstore.text import _words

    text = "Sở Y tế chủ trì, phối hợp Công an tỉnh báo cáo kết quả trước ngày 15/6/2026 (văn bản thử 7391)"
    before = [f.cache_info().currsize for f in (_words, _toned_words, written_with_marks)]
    read = TaskWords.read(text)
    assert [f.cache_info().currsize for f in (_words, _toned_words, written_with_marks)] == before
    assert read.marked and len(read.folded) >= 15 and len(read.toned) >= 15
    again = TaskWords.read(text)
    assert (read.folded == again.folded).all() and (read.toned == again.toned).all()  # the same ids each time


def test_tasks_read_from_the_store_share_their_repeated_strings(seeded_service):
    views = seeded_service.tasks.views()
    by_document: dict[str, list] = {}
    for view in views:
        by_document.setdefault(view.document.id, []).append(view.task)
    tasks = max(by_document.values(), key=len)
    assert len(tasks) >= 5
    assert len({id(t.document_id) for t in tasks}) == len({id(t.version) for t in tasks}) == 1
    for name in ("agency_name", "role", "section", "text"):
        values = [getattr(t, name) for t in tasks]
        assert len({id(v) for v in values}) == len(set(values)), name  # one object per value
