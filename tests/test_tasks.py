"""Task extraction against a labelled list written by hand from the samples (tests/data/tasks_gold.tsv)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ingest.agencies import AgencyRegistry
from ingest.deadlines import find_deadlines
from ingest.pipeline import parse_file
from ingest.tasks import TaskExtractor

GOLD = Path(__file__).parent / "data" / "tasks_gold.tsv"
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def in_scope(doc: str, section: str, source: str, has_deadline: bool) -> bool:
    """The part of each sample the gold list covers (see its header)."""
    if source == "partner":
        return False  # "phối hợp với X" mentions are extra, not assignments
    if doc == "003":
        return section.startswith("III") or (section.startswith("IV") and has_deadline)
    if doc in ("000", "004"):
        return source == "unit-type" or has_deadline
    return has_deadline  # 001, 002


def gold_rows() -> list[tuple[str, str, str, str]]:
    rows = []
    for line in GOLD.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            doc, agency, section, deadline = line.split("\t")
            rows.append((doc, agency, section, deadline))
    return rows


@pytest.fixture(scope="module")
def extracted() -> list[tuple[str, str, str, str]]:
    extractor = TaskExtractor()
    rows = []
    for path in sorted(SAMPLES.glob("*.txt")):
        doc = path.name[:3]
        for task in extractor.extract(parse_file(path)):
            if not in_scope(doc, task.section, task.source, bool(task.deadlines)):
                continue
            for key in [d.key for d in task.deadlines] or ["-"]:
                rows.append((doc, task.agency_id, task.section, key))
    return rows


def test_agency_deadline_pairs_precision_and_recall(extracted):
    gold = {(doc, agency, deadline) for doc, agency, _, deadline in gold_rows()}
    found = {(doc, agency, deadline) for doc, agency, _, deadline in extracted}
    true_positive = gold & found
    precision, recall = len(true_positive) / len(found), len(true_positive) / len(gold)
    print(f"\ntask extraction: {len(gold)} gold pairs, {len(found)} extracted, "
          f"precision {precision:.3f}, recall {recall:.3f}")
    print("  missed:", sorted(gold - found))
    print("  extra:", sorted(found - gold))
    assert precision >= 0.9 and recall >= 0.9


def test_each_gold_pair_is_found_in_its_section(extracted):
    sections = {(doc, agency, deadline): set() for doc, agency, _, deadline in gold_rows()}
    for doc, agency, section, deadline in extracted:
        if (doc, agency, deadline) in sections:
            sections[(doc, agency, deadline)].add(section)
    wrong = [(key, section) for *key_, section, deadline in gold_rows()
             if (key := (key_[0], key_[1], deadline)) in sections and sections[key] and section not in sections[key]]
    assert wrong == []


@pytest.mark.parametrize(
    ("text", "year", "keys"),
    [
        ("báo cáo 06 tháng (trước ngày 30/5/2026) và 01 năm (trước ngày 30/10/2026)", 2026,
         ["2026-05-30", "2026-10-30"]),
        ("(hoàn thành trước 25/02/2026)", 2026, ["2026-02-25"]),
        ("(hoàn thành trong tháng 11/2026)", 2026, ["2026-11"]),
        ("Quý I, tổ chức Đảng có nghị quyết", 2025, ["2025-Q1"]),
        ("(hoàn thành trong Quý II/2026)", 2026, ["2026-Q2"]),
        ("trong quý IV năm 2025", 2026, ["2025-Q4"]),
        ("phu hop trong quy IV nim 2025", 2026, ["2025-Q4"]),
        ("định kỳ 6 tháng (trước 10/6), 01 năm (trước 10/12) gửi báo cáo", 2026, ["yearly-06-10", "yearly-12-10"]),
        ("trước ngày 15 tháng 11 hằng năm", 2026, ["yearly-11-15"]),
        ("Pinh ky truéc ngay 15 thang 11 hang nim cic co quan", 2025, ["yearly-11-15"]),
        ("gửi về Công an tỉnh trwée ngay 17/12/2025 dé tong hop", 2025, ["2025-12-17"]),
        ("Năm 2026 phấn đấu 80% khu dân cư", 2026, []),
        ("kỷ niệm (19/8/2005 - 19/8/2026)", 2026, []),
    ],
)
def test_deadlines_are_normalised(text, year, keys):
    found = find_deadlines(text, year)
    assert [d.key for d, _, _ in found] == keys
    for deadline, start, end in found:
        assert text[start:end].strip(" ,;()") == deadline.text  # the original words, as written


def test_yearly_deadlines_recur():
    (deadline, _, _), = find_deadlines("trước ngày 15 tháng 11 hằng năm", 2026)
    assert deadline.occurrences(date(2026, 1, 1), date(2028, 12, 31)) == [
        date(2026, 11, 15), date(2027, 11, 15), date(2028, 11, 15)]
    assert deadline.text == "trước ngày 15 tháng 11 hằng năm"


@pytest.mark.parametrize(
    ("text", "agency"),
    [
        ("Sở GD&ĐT", "so-gddt"), ("Department of Education", "so-gddt"), ("so giao duc va dao tao", "so-gddt"),
        ("CA tỉnh", "cong-an-tinh"), ("BCHQS tỉnh", "bchqs-tinh"), ("Ủy ban MTTQ Việt Nam tỉnh", "mttq-tinh"),
        ("UBND xã", "ubnd-xa"), ("các xã, phường", "ubnd-xa"), ("trường học", "co-so-giao-duc"),
        ("schools", "co-so-giao-duc"), ("3.Sé Noi vu", "so-noi-vu"), ("Department of Health", "so-y-te"),
    ],
)
def test_registry_aliases(text, agency):
    assert [m.agency.id for m in AgencyRegistry.default().find(text)] == [agency]


def test_ocr_headings_match_by_likeness():
    registry = AgencyRegistry.default()
    assert registry.closest("S& Vin hoéa, Thé thao va Du lich").id == "so-vhttdl"
    assert registry.closest("B6i voi thon, t6 dan phd, ho gia dinh").id == "thon-to-dan-pho"
    assert registry.closest("Kho bạc Nhà nước") is None


def test_tasks_keep_role_quote_and_section():
    doc = parse_file(SAMPLES / "003_aab6fb287954f5ee.txt")
    tasks = TaskExtractor().extract(doc)
    health = [t for t in tasks if t.agency_id == "so-y-te"]
    lead = [t for t in health if t.role == "chủ trì" and t.source == "assignment"]
    assert lead and all(t.section == "III › 7. Sở Y tế" for t in lead)
    assert any("nạn nhân bị mua bán" in t.quote for t in lead)
    texts = {p.text for p in doc.paragraphs}
    assert all(any(t.quote in p for p in texts) for t in tasks)  # quotes are the document's own words
    partners = {t.agency_id for t in tasks if t.source == "partner"}
    assert "so-cong-thuong" in partners  # "Phối hợp với Sở Công Thương …" in §III.7
