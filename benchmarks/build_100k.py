"""Build the 100k-passage index for ``scale_100k.py``: ALQAC laws embedded for real, synthetic corpus composed.

    python benchmarks/build_100k.py --root /tmp/bench-100k [--chunks 100000]

Writes ``ROOT/docs`` (``synthetic_corpus.py``, unless it is there) and ingests through the project's
own Indexer and Store (Chroma + the lexical index) into ``ROOT/data``:

1. the six ALQAC laws with the real default embedder, timed: the ingest passages/s figure
   (saved in ``ROOT/build.json``, since a rerun finds them unchanged);
2. the synthetic documents with :class:`ComposedEmbedder` (line-shape vectors of the real model,
   see ``composed_embedder.py``), since real embedding would take hours on 2 cores. ``--workers``
   processes parse, chunk and compose (``Indexer.prepare``); this process writes each document
   through ``Indexer.write`` (Chroma, tasks, lexical rows, registry flip), one at a time.

Documents already in the store are skipped, so an interrupted build resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from pathlib import Path

from common import ROOT, load_average, log, peak_rss_mib, synthetic_documents
from composed_embedder import ComposedEmbedder, agreement

from bot.settings import Settings
from bot.wiring import build_configured_embedder, build_indexer
from vectorstore.indexer import Indexer, IngestResult, Prepared, content_version, document_id, iter_files

ALQAC = Path(os.environ.get("CHIDAO_ALQAC", "/work/shared/eval/alqac/corpus"))


def ingest(indexer: Indexer, files: list[Path], label: str) -> tuple[int, float, float]:
    """Ingest ``files``; return (passages written, wall seconds, CPU seconds)."""
    passages = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for number, path in enumerate(files, start=1):
        result = indexer.ingest_file(path)
        if not result.ok:
            log(f"FAILED {path.name}: {result.reason}")
        elif result.status != "unchanged":
            passages += result.chunks
        if number % 50 == 0 or number == len(files):
            elapsed = time.perf_counter() - wall
            log(f"{label} [{number}/{len(files)}] {passages} passages written, {elapsed:.0f} s, "
                f"load {load_average()}")
    return passages, time.perf_counter() - wall, time.process_time() - cpu


def real_subset(indexer: Indexer, figures: dict) -> None:
    files = sorted(ALQAC.glob("*.txt"))
    passages, wall, cpu = ingest(indexer, files, "ALQAC (real embedder)")
    if passages:
        figures["real_ingest"] = {
            "files": len(files), "passages": passages, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "passages_per_s": round(passages / wall, 2), "passages_per_cpu_s": round(passages / cpu, 2),
            "load": load_average(), "embed_cache_misses": getattr(indexer.embedder, "misses", None),
        }


def synthetic(indexer: Indexer, docs: Path, root: Path, figures: dict, workers: int) -> None:
    shapes = root / "line-shapes.sqlite3"
    composed = ComposedEmbedder(indexer.embedder, shapes)
    if "agreement" not in figures:
        seeds = sorted((ROOT / "samples").glob("*"))[:1]
        texts = [c.text for c in _chunks(indexer, seeds)][:24]
        mean, low = agreement(composed, texts)
        figures["agreement"] = {"passages": len(texts), "mean_cosine": round(mean, 4), "min_cosine": round(low, 4)}
        log(f"composed vs real vectors on {len(texts)} seed passages: mean cosine {mean:.4f}, min {low:.4f}")
    registry = indexer.store.registry()
    files = [path for path, skip in iter_files([docs]) if skip is None]
    todo = [p for p in files if _version_of(registry, p) != content_version(p.read_bytes())]
    log(f"synthetic: {len(files) - len(todo)} of {len(files)} documents already in the index")
    passages = 0
    wall, cpu = time.perf_counter(), time.process_time()
    with multiprocessing.get_context("spawn").Pool(workers, _worker_init, (str(indexer.data_dir), str(root))) as pool:
        for number, prepared in enumerate(pool.imap(_prepare_file, todo, chunksize=2), start=1):
            result = prepared if isinstance(prepared, IngestResult) else indexer.write(prepared)
            if not result.ok:
                log(f"FAILED {result.source}: {result.reason}")
            passages += result.chunks if result.status != "unchanged" else 0
            if number % 50 == 0 or number == len(todo):
                log(f"synthetic (composed vectors) [{number}/{len(todo)}] {passages} passages written, "
                    f"{time.perf_counter() - wall:.0f} s, load {load_average()}")
                figures["composed_ingest"] = {  # saved as it goes: an interrupted build still tells
                    "files": number, "of_files": len(todo), "passages": passages,
                    "wall_s": round(time.perf_counter() - wall, 1), "cpu_s_writer": round(time.process_time() - cpu, 1),
                    "workers": workers, "line_shapes": ComposedEmbedder(indexer.embedder, shapes).shapes,
                }
                (root / "build.json").write_text(json.dumps(figures, indent=1))


def _version_of(registry: dict, path: Path) -> str | None:
    record = registry.get(document_id(path.name))
    return record.version if record is not None else None


_WORKER: Indexer | None = None


def _worker_init(data_dir: str, root: str) -> None:
    """A preparing process: the real pipeline with composed passage vectors, no store."""
    global _WORKER
    settings = Settings(data_dir=Path(data_dir))
    composed = ComposedEmbedder(build_configured_embedder(settings), Path(root) / "line-shapes.sqlite3")
    _WORKER = Indexer(None, composed, settings.chunk_tokens)  # type: ignore[arg-type]


def _prepare_file(path: Path) -> Prepared | IngestResult:
    assert _WORKER is not None
    return _WORKER.prepare(path.read_bytes(), path.name)


def _chunks(indexer: Indexer, files: list[Path]) -> list:
    from ingest.chunker import chunk_document
    from ingest.pipeline import parse_file

    out = []
    for path in files:
        out.extend(chunk_document(parse_file(path), indexer.chunk_tokens, indexer.embedder.count_tokens))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("/tmp/bench-100k"))
    parser.add_argument("--documents", type=int, default=4278, help="synthetic documents (4278: 100,017 passages)")
    parser.add_argument("--workers", type=int, default=2, help="processes that parse, chunk and compose vectors")
    args = parser.parse_args()
    docs, data = args.root / "docs", args.root / "data"
    synthetic_documents(docs, args.documents)
    saved = args.root / "build.json"
    figures = json.loads(saved.read_text()) if saved.exists() else {}
    indexer = build_indexer(Settings(data_dir=data))
    real_subset(indexer, figures)
    saved.write_text(json.dumps(figures, indent=1))
    synthetic(indexer, docs, args.root, figures, args.workers)
    figures["live_passages"] = len(indexer.store.live_chunks())
    figures["build_peak_rss_mib"] = round(peak_rss_mib())
    saved.write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
