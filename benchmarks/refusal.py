"""Refusal precision and recall on the hand-written set ``tests/data/refusal.jsonl``.

    python benchmarks/refusal.py --data-dir DIR [--set FILE ...] [--half tune|held|held2|all] [--verbose]

The set holds questions the five sample documents cannot answer (other provinces,
other topics, plausible but absent facts, greetings, chit-chat) and answerable
ones that are not in dev.jsonl, each in the ``tune`` or the ``held`` half.
``tests/data/refusal_held2.jsonl`` is a second held-out set (half ``held2``), written
before the rules were tuned and first run once they were final; never tuned on.
For each half, and over all of them, the script prints:

- refusal precision: of the questions refused, the share that were unanswerable;
- refusal recall: of the unanswerable questions, the share refused;
- answerable answered: of the answerable questions, the share answered;
- fact recall: of the answerable questions' facts, the share the answer states.

``--data-dir`` is an ingested data directory; without it the samples are
ingested into a temporary one first (a few minutes on two cores).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from common import ROOT, SAMPLES, log

SETS = (ROOT / "tests" / "data" / "refusal.jsonl", ROOT / "tests" / "data" / "refusal_held2.jsonl")


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(rows: list[dict]) -> dict[str, float | int]:
    refused = [r for r in rows if not r["answered"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    answerable = [r for r in rows if r["answerable"]]
    facts = sum(len(r["facts"]) for r in answerable)
    return {
        "questions": len(rows),
        "unanswerable": len(unanswerable),
        "answerable": len(answerable),
        "refusal_precision": sum(not r["answerable"] for r in refused) / len(refused) if refused else 1.0,
        "refusal_recall": sum(not r["answered"] for r in unanswerable) / len(unanswerable) if unanswerable else 1.0,
        "answerable_answered": sum(r["answered"] for r in answerable) / len(answerable) if answerable else 1.0,
        "fact_recall": sum(r["facts_found"] for r in answerable) / facts if facts else 1.0,
    }


def run(service, rows: list[dict], verbose: bool) -> list[dict]:
    from ingest.folding import fold

    out = []
    for row in rows:
        answer = service.chat(row["question"])
        found = sum(any(fold(a) in fold(answer.answer) for a in alternatives) for alternatives in row.get("facts", []))
        out.append({**row, "answered": answer.answered, "facts_found": found})
        if verbose and answer.answered != row["answerable"]:
            log(f"{row['id']} [{row['half']}] {'answered' if answer.answered else 'refused'}: {row['question']}")
    return out


def service_for(data_dir: Path):
    from bot.settings import Settings
    from bot.wiring import build_service

    return build_service(Settings(data_dir=data_dir))


def ingest_samples(data_dir: Path) -> None:
    from bot.settings import Settings
    from bot.wiring import build_indexer

    log(f"ingesting {SAMPLES} into {data_dir} …")
    indexer = build_indexer(Settings(data_dir=data_dir))
    for path in sorted(SAMPLES.glob("*.txt")):
        indexer.ingest_file(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--set", type=Path, nargs="+", default=list(SETS))
    parser.add_argument("--half", choices=("tune", "held", "held2", "all"), default="tune")
    parser.add_argument("--verbose", action="store_true", help="name each question judged wrongly (stderr)")
    args = parser.parse_args()
    rows = [r for path in args.set for r in load(path) if args.half == "all" or r["half"] == args.half]
    with tempfile.TemporaryDirectory(prefix="chidao-refusal-") as tmp:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = Path(tmp)
            ingest_samples(data_dir)
        results = run(service_for(data_dir), rows, args.verbose)
    halves = list(dict.fromkeys(r["half"] for r in results))
    for half in halves + (["all"] if len(halves) > 1 else []):
        figures = score([r for r in results if half in ("all", r["half"])])
        print(f"[{half}] {figures['questions']} questions ({figures['unanswerable']} unanswerable, "
              f"{figures['answerable']} answerable)")
        print(f"  refusal precision    {figures['refusal_precision']:.3f}")
        print(f"  refusal recall       {figures['refusal_recall']:.3f}")
        print(f"  answerable answered  {figures['answerable_answered']:.3f}")
        print(f"  fact recall          {figures['fact_recall']:.3f}")


if __name__ == "__main__":
    main()
