"""Questions that name an article or a document go straight to it; citations name the article.

The fixtures (``tests/data/legal_refs``) are small hand-written texts: two laws that share
article headings ("Điều 2. Giải thích từ ngữ") and two plans on the same theme from two
districts, so only the reference in the question tells them apart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.citations import Citation
from bot.compose import Quote, compose
from vectorstore.question import read_question
from vectorstore.records import DocumentRecord, StoredChunk
from vectorstore.references import article_rank, local_documents, named_documents
from vectorstore.retriever import Passage
from vectorstore.text import default_lexicon

REFS = Path(__file__).parent / "data" / "legal_refs"


def record(doc_id: str, **fields) -> DocumentRecord:
    return DocumentRecord(id=doc_id, source=f"{doc_id}.txt", version="v", **fields)


REGISTRY = {
    "cu_tru": record("cu_tru", doc_type="Luật", title="Cư trú", doc_number="68/2020/QH14", date="2020-11-13"),
    "dien_anh": record("dien_anh", doc_type="Luật", title="Điện ảnh 2022", doc_number="05/2022/QH15"),
    "kh195": record("kh195", doc_type="Kế hoạch", doc_number="195/KH-UBND", issuer="UBND huyện Bảo Thắng",
                    title="Triển khai Phong trào toàn dân bảo vệ an ninh Tổ quốc năm 2026"),
    "nd145": record("nd145", doc_type="Nghị định", doc_number="145/2020/NĐ-CP", title="Quy định chi tiết"),
}


@pytest.mark.parametrize(("question", "named"), [
    ("Điều 33 Luật Cư trú quy định gì?", {"cu_tru"}),
    ("dieu 12 luat dien anh", {"dien_anh"}),  # no diacritics, no capitals
    ("khoản 2 Điều 5 Luật Điện ảnh", {"dien_anh"}),
    ("Article 33 of the Residence Law", {"cu_tru"}),
    ("What does clause 2 of Article 12 of the Cinema Law say?", {"dien_anh"}),
    ("Luật số 68/2020/QH14 có hiệu lực khi nào?", {"cu_tru"}),
    ("Kế hoạch 195/KH-UBND giao Sở Y tế làm gì?", {"kh195"}),
    ("Kế hoạch 195 giao Công an huyện làm gì?", {"kh195"}),
    ("Nghị định 195 quy định gì?", set()),  # the number of a plan, not of a decree
    ("Nghị định 145/2020/NĐ-CP quy định gì?", {"nd145"}),
    ("Đăng ký cư trú cần giấy tờ gì?", set()),  # the subject of a law is not its name
    ("Luật Đất đai quy định gì?", set()),
])
def test_documents_named_by_title_or_number(question, named):
    assert named_documents(read_question(question, default_lexicon()), REGISTRY) == named


def test_a_locality_names_the_documents_of_its_issuer():
    q = read_question("Huyện Bảo Thắng giao Công an huyện làm gì?", default_lexicon())
    assert local_documents(q, REGISTRY) == {"kh195"}
    assert local_documents(read_question("Công an huyện làm gì?", default_lexicon()), REGISTRY) == set()


LOCAL = {
    "a": record("a", place="xã Tả Van, huyện Sa Pa", issuer="UBND xã Tả Van", title="Kế hoạch phòng chống thiên tai"),
    "b": record("b", place="huyện Sa Pa", issuer="UBND huyện Sa Pa", title="Tổ chức Ngày hội"),
    "c": record("c", place="tỉnh Lào Cai", issuer="UBND tỉnh Lào Cai", title="Thi đua huyện Bảo Thắng"),
    "d": record("d", place="", issuer="Công an tỉnh Lai Châu", title="Sa Pa Lào Cai du lịch"),
    "e": record("e", place="Sa Pa", issuer="", title="văn bản không nói địa bàn xã Tả"),
}


@pytest.mark.parametrize("question", [
    "Xã Tả Van phải làm gì?", "xa ta van phai lam gi", "Huyện Sa Pa tổ chức gì?", "Tỉnh Lào Cai giao gì?",
    "Huyện Bảo Thắng thi đua gì?", "Công an tỉnh Lai Châu làm gì?", "tinh lai chau", "Xã Tả Van huyện Sa Pa làm gì?",
    "Thành phố Hà Nội làm gì?", "Sở Y tế làm gì?",
])
def test_a_locality_finds_the_documents_walking_every_document_finds(question):
    """The word-pair index gives the documents a walk over the whole registry gives."""
    from vectorstore.text import contains_run, words

    q = read_question(question, default_lexicon())
    places = [p.words for p in q.places if len(p.words) >= 2]
    walked = {doc.id for doc in LOCAL.values()
              if any(contains_run(words(" ".join((doc.place, doc.issuer, doc.title))), p) for p in places)}
    assert local_documents(q, LOCAL) == walked
    assert local_documents(q, dict(LOCAL)) == walked  # another registry: its own tables


def test_a_locality_that_names_something_is_found():
    assert local_documents(read_question("Xã Tả Van phải làm gì?", default_lexicon()), LOCAL) == {"a"}
    assert local_documents(read_question("Huyện Sa Pa tổ chức gì?", default_lexicon()), LOCAL) == {"a", "b", "d", "e"}


def chunk(article: str = "", clause: str = "", point: str = "", page: int | None = None) -> StoredChunk:
    return StoredChunk(id=f"c{article}{clause}{point}", document_id="dien_anh", version="v", text="…",
                       section="", headings=(), article=article, clause=clause, point=point, page=page)


@pytest.mark.parametrize(("question", "where", "rank"), [
    ("điểm a khoản 2 Điều 12", ("12", "2", "a"), 0),
    ("điểm a khoản 2 Điều 12", ("12", "2", "b"), 1),
    ("điểm a khoản 2 Điều 12", ("12", "1", ""), 2),
    ("Điều 12", ("12", "", ""), 1),
    ("Điều 12", ("12", "3", ""), 2),
    ("Điều 12", ("13", "", ""), None),
    ("Điều 12", ("", "", ""), None),
])
def test_article_rank_orders_point_clause_article(question, where, rank):
    refs = read_question(question, default_lexicon()).articles
    assert article_rank(chunk(*where), refs) == rank


@pytest.mark.parametrize(("where", "page", "vi", "en"), [
    (("12", "2", ""), None, "Luật Điện ảnh 2022, Điều 12, khoản 2", "Luật Điện ảnh 2022, Article 12, clause 2"),
    (("12", "2", "a"), None, "Luật Điện ảnh 2022, Điều 12, khoản 2, điểm a",
     "Luật Điện ảnh 2022, Article 12, clause 2, point a"),
    (("12", "", ""), 3, "Luật Điện ảnh 2022, Điều 12, trang 3", "Luật Điện ảnh 2022, Article 12, page 3"),
])
def test_citation_label_names_the_article(where, page, vi, en):
    citation = Citation(1, Passage(chunk(*where, page=page), REGISTRY["dien_anh"], 1.0), "…")
    assert citation.label == vi and citation.label_in("en") == en


def test_law_label_takes_its_year_from_the_date():
    assert REGISTRY["cu_tru"].label == "Luật Cư trú 2020"
    assert REGISTRY["kh195"].label == "Kế hoạch 195/KH-UBND"
    assert record("x", doc_type="Luật", title="Điện ảnh", doc_number="05/2022/QH15").label == "Luật Điện ảnh 2022"


@pytest.mark.parametrize(("question", "expected"), [
    ("Điều 12 Luật Điện ảnh quy định gì?", "Theo **Luật Điện ảnh 2022, Điều 12, khoản 2**"),
    ("What does Article 12 of the Cinema Law say?", "According to **Luật Điện ảnh 2022, Article 12, clause 2**"),
])
def test_answer_names_document_article_and_clause(question, expected):
    q = read_question(question, default_lexicon())
    c = StoredChunk(id="x", document_id="dien_anh", version="v", text="2. Trường quay được cung cấp dịch vụ.",
                    section="Chương II › Điều 12. Hoạt động của trường quay › khoản 2", headings=(),
                    article="12", clause="2")
    passage = Passage(c, REGISTRY["dien_anh"], 1.0)
    answer = compose(q, [Quote(passage, "Trường quay được cung cấp dịch vụ.")])
    assert answer.answer.startswith(expected)
    assert "Điều 12. Hoạt động của trường quay › khoản 2" in answer.answer


# -- with the real store and model ------------------------------------------------------------


@pytest.fixture(scope="module")
def refs_service(tmp_path_factory, e5):
    from bot.settings import Settings
    from bot.wiring import build_service, build_store

    settings = Settings(data_dir=tmp_path_factory.mktemp("refs"), embed_cache="off")
    service = build_service(settings, build_store(settings, e5))
    for path in sorted(REFS.glob("*.txt")):
        assert service.indexer.ingest_file(path).ok
    return service


def _first(service, question: str) -> Passage:
    return service.search(question, 5)[0]


@pytest.mark.slow
@pytest.mark.parametrize(("question", "source", "article", "clause"), [
    ("Điều 2 Luật Cư trú quy định gì?", "luat_cu_tru.txt", "2", ""),
    ("Điều 2 Luật Điện ảnh quy định gì?", "luat_dien_anh.txt", "2", ""),
    ("dieu 2 luat dien anh", "luat_dien_anh.txt", "2", ""),
    ("khoản 2 Điều 12 Luật Điện ảnh", "luat_dien_anh.txt", "12", "2"),
    ("khoan 3 dieu 12 luat dien anh quy dinh gi", "luat_dien_anh.txt", "12", "3"),
    ("Article 2 of the Residence Law", "luat_cu_tru.txt", "2", ""),
    ("What does clause 1 of Article 12 of the Cinema Law say?", "luat_dien_anh.txt", "12", "1"),
])
def test_article_reference_goes_straight_to_the_article(refs_service, question, source, article, clause):
    first = _first(refs_service, question)
    assert (first.document.source, first.chunk.article) == (source, article)
    assert not clause or first.chunk.clause == clause or f"{clause}. " in first.chunk.text


@pytest.mark.slow
def test_a_numbered_or_local_document_ranks_first(refs_service):
    q195 = "Kế hoạch 195/KH-UBND giao Công an huyện tổ chức gì?"
    assert {p.document.source for p in refs_service.search(q195, 3)} == {"ke_hoach_195.txt"}
    for place, own, other in (("Bảo Thắng", "ke_hoach_195.txt", "ke_hoach_88.txt"),
                              ("Trạm Tấu", "ke_hoach_88.txt", "ke_hoach_195.txt")):
        found = refs_service.search(f"Huyện {place} giao Công an huyện chủ trì tổ chức Ngày hội gì?", 5)
        assert found[0].document.source == own  # the plans say the same: the locality decides …
        assert other in {p.document.source for p in found}  # … as a boost, not a filter


@pytest.mark.parametrize(("question", "alpha"), [
    ("Viên chức bị khiển trách thì thời hạn nâng lương bị kéo dài bao lâu?", 0.7),
    ("vien chuc bi khien trach thi thoi han nang luong bi keo dai bao lau", 0.85),  # no diacritics
    ("How long is the salary raise delayed for a reprimanded public employee?", 0.7),
])
def test_a_question_without_diacritics_leans_on_the_lexical_side(question, alpha):
    from vectorstore.fusion import ScoreFusion
    from vectorstore.retriever import HybridRetriever

    retriever = HybridRetriever.__new__(HybridRetriever)  # only the fusion settings are read
    retriever.fusion, retriever.unmarked_lexical_weight = ScoreFusion(0.7), 0.85
    assert retriever._fusion_for(read_question(question, default_lexicon())).alpha == alpha


@pytest.mark.slow
@pytest.mark.parametrize(("question", "label"), [
    ("Điều 12 Luật Điện ảnh quy định gì?", "Luật Điện ảnh 2022, Điều 12"),
    ("dieu 12 luat dien anh quy dinh gi", "Luật Điện ảnh 2022, Điều 12"),
    ("What does Article 12 of the Cinema Law say?", "Luật Điện ảnh 2022, Article 12"),
])
def test_chat_answers_an_article_question_quoting_the_article(refs_service, question, label):
    answer = refs_service.chat(question)
    assert answer.answered and f"**{label}**" in answer.answer
    assert "Trường quay được cung cấp các dịch vụ" in answer.answer  # the article's text, not its heading alone
