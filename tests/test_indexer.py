"""Safe ingest on real Chroma with the real model: idempotent, replacing, never half a document."""

from __future__ import annotations

from pathlib import Path

import pytest

from vectorstore.indexer import document_id

PLAN_V1 = """Số: 12/KH-UBND
Hà Giang, ngày 05 tháng 3 năm 2026
KẾ HOẠCH
Bảo đảm an ninh trật tự tại khu chợ biên giới

I. NHIỆM VỤ
1. Công an xã
- Tuần tra khu chợ vào các ngày phiên chợ, kiểm tra hàng hóa nhập lậu.
2. Ban quản lý chợ
- Niêm yết nội quy phòng cháy chữa cháy tại cổng chợ trước ngày 30/4/2026.
"""

PLAN_V2 = PLAN_V1.replace("phòng cháy chữa cháy", "an toàn thực phẩm").replace("30/4/2026", "15/5/2026")


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_document_ids_are_readable_and_stable():
    assert document_id("004_efdf551c7c231efb.txt") == "004_efdf551c7c231efb"
    assert document_id("Kế hoạch số 12.docx") == "ke-hoach-so-12"
    assert document_id("/tmp/a/Kế hoạch số 12.pdf") == document_id("Kế hoạch số 12.pdf")


@pytest.mark.slow
def test_reingest_unchanged_is_a_noop(indexer, tmp_path):
    path = write(tmp_path, "ke-hoach-cho.txt", PLAN_V1)
    first = indexer.ingest_file(path)
    assert (first.status, first.chunks) == ("added", first.chunks) and first.chunks >= 2
    ids_before = [c.id for c in indexer.store.live_chunks()]
    again = indexer.ingest_file(path)
    assert again.status == "unchanged"
    assert [c.id for c in indexer.store.live_chunks()] == ids_before


@pytest.mark.slow
def test_changed_file_replaces_old_chunks_in_both_indexes(indexer, tmp_path, empty_settings):
    from bot.wiring import build_service

    path = write(tmp_path, "ke-hoach-cho.txt", PLAN_V1)
    indexer.ingest_file(path)
    service = build_service(empty_settings, indexer.store)
    assert any("phòng cháy chữa cháy" in p.chunk.text for p in service.search("phòng cháy chữa cháy", 5))

    write(tmp_path, "ke-hoach-cho.txt", PLAN_V2)
    result = indexer.ingest_file(path)
    assert result.status == "updated"
    texts = [c.text for c in indexer.store.live_chunks()]
    assert not any("phòng cháy chữa cháy" in t for t in texts)
    assert any("15/5/2026" in t for t in texts)
    # Chroma holds no stale version (dense side) …
    got = indexer.store._chunks.get(include=["metadatas"])
    assert {m["version"] for m in got["metadatas"]} == {indexer.store.document("ke-hoach-cho").version}
    # … and the lexical index, rebuilt from Chroma, no longer finds the old words
    hits = [p.chunk.text for p in service.search("phòng cháy chữa cháy cổng chợ", 5)]
    assert not any("phòng cháy chữa cháy" in t for t in hits)
    assert len(indexer.store.documents()) == 1


@pytest.mark.slow
def test_unparseable_file_is_reported_and_nothing_else_changes(indexer, tmp_path):
    good = write(tmp_path, "good.txt", PLAN_V1)
    indexer.ingest_file(good)
    before = {c.id for c in indexer.store.live_chunks()}
    for name, data, reason in [
        ("empty.txt", b"", "rỗng"),
        ("binary.txt", b"\x00\x01\x02\x03", "nhị phân"),
        ("header-only.txt", "Số: 1/KH\nKẾ HOẠCH\nTên\n".encode(), "không tìm thấy nội dung"),
        ("scan.exe", b"MZ\x90\x00", "không được hỗ trợ"),
    ]:
        result = indexer.ingest_file(write(tmp_path, name, data))
        assert result.status == "failed" and reason in result.reason, (name, result)
    assert {c.id for c in indexer.store.live_chunks()} == before
    assert [d.source for d in indexer.store.documents()] == ["good.txt"]


@pytest.mark.slow
def test_a_replacement_that_fails_to_parse_keeps_the_old_version(indexer, tmp_path):
    path = write(tmp_path, "plan.txt", PLAN_V1)
    indexer.ingest_file(path)
    version = indexer.store.document("plan").version
    write(tmp_path, "plan.txt", b"")
    assert indexer.ingest_file(path).status == "failed"
    assert indexer.store.document("plan").version == version
    assert any("Tuần tra khu chợ" in c.text for c in indexer.store.live_chunks())


@pytest.mark.slow
def test_interrupted_ingest_leaves_previous_version_live(indexer, tmp_path):
    """Chunks of a new version written without the registry flip (a crash) stay invisible."""
    import numpy as np

    from vectorstore.records import StoredChunk

    path = write(tmp_path, "plan.txt", PLAN_V1)
    indexer.ingest_file(path)
    doc = indexer.store.document("plan")
    orphan = StoredChunk("plan:deadbeef:0000", "plan", "deadbeef", "văn bản dở dang", "I", ("I.",))
    indexer.store.put_chunks(doc, [orphan], np.ones((1, 384), dtype=np.float32) / np.sqrt(384))
    assert all(c.version == doc.version for c in indexer.store.live_chunks())
    assert indexer.store.collect_garbage() == 1
    assert indexer.store.get_chunks(["plan:deadbeef:0000"]) == {}


@pytest.mark.slow
def test_remove_by_id_name_or_path(indexer, tmp_path):
    a = write(tmp_path, "a.txt", PLAN_V1)
    b = write(tmp_path, "b.txt", PLAN_V2)
    indexer.ingest_file(a)
    indexer.ingest_file(b)
    assert indexer.remove("a") == "a"
    assert indexer.remove(str(b)) == "b"
    assert indexer.remove("missing") is None
    assert indexer.store.documents() == [] and indexer.store.live_chunks() == []


@pytest.mark.slow
def test_two_data_directories_do_not_share_documents(tmp_path, e5):
    from vectorstore.indexer import Indexer
    from vectorstore.store import Store

    one = Indexer(Store.open(tmp_path / "one", e5), e5)
    two = Indexer(Store.open(tmp_path / "two", e5), e5)
    one.ingest_file(write(tmp_path, "plan.txt", PLAN_V1))
    assert [d.id for d in one.store.documents()] == ["plan"]
    assert two.store.documents() == []
