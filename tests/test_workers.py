"""``chidao serve --workers 2`` over one data directory: a document ingested from the command line is
answered by both worker processes, and a removal reaches both."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.processes import chat, chidao, chidao_server, fill, search, wait_for

pytestmark = pytest.mark.slow

PLAN = """KẾ HOẠCH
Tuần tra biên giới mùa khô

I. NHIỆM VỤ
1. Đồn biên phòng Pa Vây Sử
- Tổ chức tuần tra đường mòn lối mở vào ban đêm, báo cáo trước ngày 12/6/2026.
"""
QUESTION = "Đồn biên phòng Pa Vây Sử tuần tra ở đâu?"


def workers_finding(url: str, doc_id: str, present: bool = True) -> tuple[set[str], set[str]]:
    """Ask on fresh connections until both workers have answered; (workers that answered, those that
    found the document (or, with ``present=False``, did not))."""
    seen: set[str] = set()
    agreeing: set[str] = set()

    def both_agree() -> bool:
        results, worker = search(url, QUESTION)
        seen.add(worker)
        # found by both retrievers: the worker's lexical index and its Chroma view hold the document
        found = any(r["document_id"] == doc_id and r["lexical_rank"] and r["dense_rank"] for r in results)
        if found == present:
            agreeing.add(worker)
        return len(agreeing) >= 2

    wait_for(both_agree, f"both workers {'find' if present else 'no longer find'} {doc_id}", every=0.05)
    return seen, agreeing


def test_two_workers_over_one_directory_both_see_what_the_cli_ingests(tmp_path):
    data = tmp_path / "data"
    plan = tmp_path / "tuan-tra.txt"
    plan.write_text(PLAN, encoding="utf-8")
    fill(data, 2000)
    server, url = chidao_server(data, tmp_path / "serve.log", "--workers", "2")
    with server:
        assert (data / "chroma-server.json").exists()  # the directory's store is served, not opened twice
        done = chidao("ingest", str(plan), "--data-dir", str(data))
        assert done.returncode == 0, done.stderr
        seen, finding = workers_finding(url, "tuan-tra")
        assert len(finding) == 2 and all(w.isdigit() for w in finding)
        if not os.environ.get("MALLOC_ARENA_MAX"):  # chidao serve limits glibc's arenas; its workers inherit it
            for pid in finding:
                assert b"MALLOC_ARENA_MAX=2" in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        answer = chat(url, QUESTION)
        assert answer["answered"] and answer["citations"][0]["document_id"] == "tuan-tra"

        assert chidao("remove", "tuan-tra", "--data-dir", str(data)).returncode == 0
        _, gone = workers_finding(url, "tuan-tra", present=False)
        assert len(gone) == 2
    assert not (data / "chroma-server.json").exists()
