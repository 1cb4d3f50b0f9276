"""Past one machine: chidao nodes sharing one real Chroma server (``chroma run`` on loopback).

One node ingests and removes from the command line; two others (``chidao serve``, each with its own
data directory) answer. Each answering node copies the versions it lacks into its own lexical index
and keeps it across restarts. An ingest killed (SIGKILL) at each write step leaves every node, and a
node started afterwards, on the previous version whole.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from tests.processes import (
    chidao,
    chidao_killed_at,
    chidao_server,
    chroma_server,
    environment,
    search,
    wait_for,
)

pytestmark = pytest.mark.slow

PLAN = """KẾ HOẠCH
Bảo đảm an ninh chợ phiên biên giới

I. NHIỆM VỤ
1. Đồn biên phòng Mường Nhé
- Tuần tra khu chợ phiên {marker}, kiểm tra hàng hóa nhập lậu trước ngày 20/7/2026.
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")
    chroma, chroma_url = chroma_server(root / "chroma", root / "chroma.log")
    env = environment(CHIDAO_CHROMA_URL=chroma_url)
    with chroma:
        a, url_a = chidao_server(root / "node-a", root / "node-a.log", env=env)
        b, url_b = chidao_server(root / "node-b", root / "node-b.log", env=env)
        with a, b:
            yield {"root": root, "env": env, "urls": {"a": url_a, "b": url_b}, "nodes": {"a": a, "b": b}}


def ingest_node(cluster, *args: str):
    return chidao(*args, "--data-dir", str(cluster["root"] / "node-i"), env=cluster["env"])


def texts(url: str, query: str) -> list[str]:
    return [r["text"] for r in search(url, query, k=10)[0]]


def every_node_finds(cluster, query: str, marker: str, present: bool = True) -> None:
    for name, url in cluster["urls"].items():
        wait_for(lambda url=url: any(marker in t for t in texts(url, query)) == present,
                 f"node {name} {'finds' if present else 'no longer finds'} {marker!r}")


def local_versions(node_dir: Path) -> dict[tuple[str, str], list[int]]:
    """The versions a node's own lexical index holds, with the SQLite row ids of their passages."""
    db = sqlite3.connect(f"file:{node_dir / 'lexical' / 'e5-small' / 'lexical.sqlite3'}?mode=ro", uri=True)
    rows: dict[tuple[str, str], list[int]] = {}
    for row, doc_id, version in db.execute("SELECT row, doc_id, version FROM rows ORDER BY row"):
        rows.setdefault((doc_id, version), []).append(row)
    db.close()
    return rows


def test_one_node_ingests_two_others_answer_remove_and_reingest_reach_both(cluster, tmp_path):
    plan = tmp_path / "cho-phien.txt"
    plan.write_text(PLAN.format(marker="Si Pa Phìn"), encoding="utf-8")
    question = "Đồn biên phòng Mường Nhé tuần tra khu chợ phiên nào?"
    assert ingest_node(cluster, "ingest", str(plan)).returncode == 0
    every_node_finds(cluster, question, "Si Pa Phìn")
    for name, url in cluster["urls"].items():
        results, _ = search(url, question)
        assert results[0]["document_id"] == "cho-phien" and results[0]["lexical_rank"] and results[0]["dense_rank"]
        held = local_versions(cluster["root"] / f"node-{name}")
        assert any(doc == "cho-phien" for doc, _ in held)  # copied into the node's own index

    assert ingest_node(cluster, "remove", "cho-phien").returncode == 0
    every_node_finds(cluster, question, "Si Pa Phìn", present=False)

    plan.write_text(PLAN.format(marker="Nậm Kè"), encoding="utf-8")
    assert ingest_node(cluster, "ingest", str(plan)).returncode == 0
    every_node_finds(cluster, question, "Nậm Kè")
    every_node_finds(cluster, question, "Si Pa Phìn", present=False)

    # node B restarts while a document is added: it catches up without re-reading what it held
    before = local_versions(cluster["root"] / "node-b")
    cluster["nodes"]["b"].__exit__(None, None, None)
    other = tmp_path / "cho-khac.txt"
    other.write_text(PLAN.format(marker="Pa Tần").replace("Mường Nhé", "Leng Su Sìn"), encoding="utf-8")
    assert ingest_node(cluster, "ingest", str(other)).returncode == 0
    cluster["nodes"]["b"].__enter__()
    wait_for(lambda: any("Pa Tần" in t for t in texts(cluster["urls"]["b"], "Đồn biên phòng Leng Su Sìn")),
             "restarted node B finds the document added while it was down")
    after = local_versions(cluster["root"] / "node-b")
    assert all(after.get(key) == rows for key, rows in before.items() if key[0] == "cho-phien")


@pytest.mark.parametrize("point", ["put_chunks:after", "put_tasks:after", "put_lexical:after", "commit:before"])
def test_an_ingest_killed_at_any_write_step_leaves_every_node_on_the_old_version(cluster, tmp_path, point):
    doc = "ke-hoach-" + point.split(":")[0].replace("_", "-")
    plan = tmp_path / f"{doc}.txt"
    question = "Đồn biên phòng Mường Nhé kiểm tra hàng hóa nhập lậu ở chợ phiên nào?"
    plan.write_text(PLAN.format(marker=f"Huổi Lếch {point}"), encoding="utf-8")
    assert ingest_node(cluster, "ingest", str(plan)).returncode == 0
    every_node_finds(cluster, question + f" {point}", f"Huổi Lếch {point}")

    plan.write_text(PLAN.format(marker=f"Ma Thì Hồ {point}"), encoding="utf-8")
    assert chidao_killed_at(point, "ingest", str(plan), "--data-dir", str(cluster["root"] / "node-i"),
                            env=cluster["env"]) == -9
    # a node started now (nothing cached) sees only the version the registry names, whole
    fresh = chidao("search", question + f" {point}", "--json", "-k", "10", "--data-dir",
                   str(tmp_path / "fresh-node"), env=cluster["env"])
    assert fresh.returncode == 0, fresh.stderr
    assert f"Huổi Lếch {point}" in fresh.stdout and f"Ma Thì Hồ {point}" not in fresh.stdout
    for url in cluster["urls"].values():
        found = texts(url, question + f" {point} Ma Thì Hồ")
        assert not any(f"Ma Thì Hồ {point}" in t for t in found) and any(f"Huổi Lếch {point}" in t for t in found)

    done = ingest_node(cluster, "ingest", str(plan))  # the next ingest cleans up and finishes the work
    assert done.returncode == 0 and "đã cập nhật" in done.stdout, done.stdout + done.stderr
    every_node_finds(cluster, question + f" {point}", f"Ma Thì Hồ {point}")
    every_node_finds(cluster, question + f" {point}", f"Huổi Lếch {point}", present=False)


def test_killed_after_the_registry_flip_the_new_version_is_whole_and_gc_clears_the_old(cluster, tmp_path):
    plan = tmp_path / "ke-hoach-lat.txt"
    question = "Đồn biên phòng Mường Nhé tuần tra chợ phiên nào trước ngày 20/7/2026?"
    plan.write_text(PLAN.format(marker="Chung Chải"), encoding="utf-8")
    assert ingest_node(cluster, "ingest", str(plan)).returncode == 0
    plan.write_text(PLAN.format(marker="Sen Thượng"), encoding="utf-8")
    # the registry names the new version; the old one's chunks, tasks and lexical rows are left behind
    assert chidao_killed_at("drop_versions:before", "ingest", str(plan), "--data-dir",
                            str(cluster["root"] / "node-i"), env=cluster["env"]) == -9
    every_node_finds(cluster, question + " Sen Thượng", "Sen Thượng")
    every_node_finds(cluster, question + " Chung Chải", "Chung Chải", present=False)
    cleaned = ingest_node(cluster, "gc")
    removed = re.search(r"đã dọn (\d+) đoạn", cleaned.stdout)
    assert cleaned.returncode == 0 and removed and int(removed.group(1)) > 0, cleaned.stdout + cleaned.stderr
    assert [v for d, v in local_versions(cluster["root"] / "node-i") if d == "ke-hoach-lat"] == [
        v for d, v in local_versions(cluster["root"] / "node-a") if d == "ke-hoach-lat"]


def test_the_sidecar_runs_with_few_malloc_arenas_unless_the_operator_chose(tmp_path, monkeypatch):
    """``chidao serve``'s own Chroma server: glibc's arenas limited (its peak RSS at 100k passages
    628-681 -> 508 MiB), an operator's MALLOC_ARENA_MAX kept."""
    import httpx

    from vectorstore.chroma_server import SIDECAR_ARENAS, ChromaServer

    for chosen, expected in ((None, SIDECAR_ARENAS), ("4", "4")):
        if chosen is None:
            monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
        else:
            monkeypatch.setenv("MALLOC_ARENA_MAX", chosen)
        sidecar = ChromaServer(tmp_path / (chosen or "default"))
        sidecar.launch()
        try:
            url = sidecar.wait()
            assert httpx.get(url + "/api/v2/heartbeat", timeout=10).status_code == 200
            environ = Path(f"/proc/{sidecar.process.pid}/environ").read_bytes().split(b"\0")
            assert f"MALLOC_ARENA_MAX={expected}".encode() in environ
        finally:
            sidecar.stop()


def test_a_started_server_loads_the_passages_index_it_is_asked_to_as_soon_as_it_answers(tmp_path):
    """``chidao serve`` names its passages' collection without loading a model or Chroma, and its own
    Chroma server loads that vector index before anyone searches (cold start); a collection the
    directory lacks is skipped, and the server then answers a store as before."""
    import shutil

    from bot.cli import _passage_collection
    from bot.settings import Settings
    from bot.wiring import build_store
    from tests.hashed import hashed_dir
    from vectorstore.chroma_server import ChromaServer
    from vectorstore.collection_names import collection_name
    from vectorstore.hashing import HashingEmbedder

    data = tmp_path / "data"
    shutil.copytree(hashed_dir(), data)
    embedder = HashingEmbedder()
    name = collection_name("chunks", embedder.key)
    sidecar = ChromaServer(data)
    sidecar.launch(preload=[name, "chunks-nobody"])
    try:
        url = sidecar.wait()
        assert sidecar.preloaded() == {name: "loaded", "chunks-nobody": "absent"}
        store = build_store(Settings(data_dir=data, chroma_url=url), embedder)
        assert store._chunks.name == name
        hits = store.nearest(embedder.embed(["Sở Y tế"], query=True)[0], 3)
        assert len(hits) == 3 and all(chunk.text for chunk, _ in hits)
    finally:
        sidecar.stop()
    for chosen in ("e5-onnx", "e5"):
        settings = Settings(data_dir=tmp_path / chosen, embedder=chosen)
        assert _passage_collection(settings) == build_store(settings)._chunks.name == "chunks-e5-small"
