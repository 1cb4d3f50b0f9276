"""Calibrate and measure the sentence–passage support check on the labelled pairs.

    python benchmarks/grounding.py [--pairs tests/data/grounding_pairs.jsonl] [--verbose]

Prints the accuracy at the threshold shipped in bot/grounding.py, the threshold this set
calibrates (middle of the best interval) with its accuracy, leave-one-out accuracy (each pair
judged with a threshold calibrated on the others), accuracy per kind of pair, and the pairs
judged wrongly.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from common import ROOT

from bot.grounding import THRESHOLD
from bot.grounding_calibration import accuracy, calibrate, leave_one_out, load_pairs, score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default=str(ROOT / "tests" / "data" / "grounding_pairs.jsonl"))
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    scored = [score(pair) for pair in load_pairs(ROOT / args.pairs)]
    supported = sum(s.label for s in scored)
    print(f"pairs: {len(scored)} ({supported} supported, {len(scored) - supported} unsupported)")
    threshold, best = calibrate(scored)
    print(f"shipped threshold {THRESHOLD:.2f}: accuracy {accuracy(scored, THRESHOLD):.3f}")
    print(f"calibrated threshold {threshold:.2f}: accuracy {best:.3f}")
    print(f"leave-one-out accuracy: {leave_one_out(scored):.3f}")
    kinds: dict[str, list] = defaultdict(list)
    for s in scored:
        kinds[s.kind].append(s)
    for kind, items in sorted(kinds.items()):
        print(f"  {kind:15s} {len(items):3d} pairs, accuracy {accuracy(items, THRESHOLD):.3f}")
    wrong = [s for s in scored if s.predict(THRESHOLD) != s.label]
    print(f"judged wrongly at {THRESHOLD:.2f}: {', '.join(s.id for s in wrong) or 'none'}")
    if args.verbose:
        for s in scored:
            print(f"{s.id:18s} {s.kind:15s} label={int(s.label)} facts={int(s.facts_ok)} overlap={s.overlap:.2f}")


if __name__ == "__main__":
    main()
