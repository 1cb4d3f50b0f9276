"""Document types and issuing bodies, from ``data/doc_types.tsv`` and ``data/issuer_codes.tsv``.

A type is read from the type line of the header ("NGHỊ ĐỊNH", "LUẬT CƯ TRÚ")
or, failing that, from the codes of the document number ("145/2020/NĐ-CP":
Nghị định of the Chính phủ; "07-CT/TU": Chỉ thị of the Tỉnh ủy).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ingest.folding import fold

_CODE_SPLIT = re.compile(r"[/\-–]")


@dataclass(frozen=True)
class DocType:
    name: str
    names: tuple[str, ...]  # folded spellings of the type line
    codes: tuple[str, ...]
    issuer: str
    named_by: str  # title | number


def _rows(name: str) -> list[list[str]]:
    text = resources.files("ingest.data").joinpath(name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _split(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split("|") if part.strip() and part.strip() != "-")


@lru_cache(maxsize=1)
def doc_types() -> tuple[DocType, ...]:
    return tuple(
        DocType(name, _split(names), _split(codes), "" if issuer == "-" else issuer, named_by)
        for name, names, codes, issuer, named_by in _rows("doc_types.tsv")
    )


@lru_cache(maxsize=1)
def _spellings() -> tuple[tuple[str, DocType], ...]:
    """(folded spelling, type), longest first, so "thong tu lien tich" wins over "thong tu"."""
    pairs = [(spelling, t) for t in doc_types() for spelling in t.names]
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


@lru_cache(maxsize=1)
def _issuer_codes() -> dict[str, str]:
    return {code: issuer for code, issuer in _rows("issuer_codes.tsv")}


def by_name(name: str) -> DocType | None:
    return next((t for t in doc_types() if t.name == name), None)


def type_line(text: str, strict: bool = True, max_words: int = 6) -> tuple[DocType, str] | None:
    """The type a header line names, and what follows it on the line ("LUẬT CƯ TRÚ 2020" -> Luật, "CƯ TRÚ 2020").

    When ``strict``, a line that is not written in capitals names a type only when it is short
    (at most ``max_words`` words, two beyond the type's own)."""
    words = fold(text).split()
    if not words:
        return None
    key = " ".join(words)
    capitals = text.upper() == text
    for spelling, doc_type in _spellings():
        if key == spelling or key.startswith(spelling + " "):
            extra = len(words) - len(spelling.split())
            if strict and not capitals and (extra > 2 or len(words) > max_words):
                return None
            return doc_type, _rest_after(text, len(spelling.split()))
    return None


def _rest_after(text: str, n_words: int) -> str:
    parts = re.split(r"(\s+)", text.strip())
    words_seen = 0
    for i, part in enumerate(parts):
        if part.strip() and any(ch.isalnum() for ch in part):
            words_seen += 1
            if words_seen == n_words:
                return "".join(parts[i + 1:]).strip(" :.-–")
    return ""


def code_tokens(number: str) -> list[str]:
    """The folded letter codes of a document number: "145/2020/NĐ-CP" -> ["nd", "cp"]; "QH14" -> "qh"."""
    tokens = []
    for part in _CODE_SPLIT.split(number):
        folded = re.sub(r"[^a-z0-9]", "", fold(part).replace(" ", ""))
        folded = folded.rstrip("0123456789")
        if folded and not folded.isdigit():
            tokens.append(folded)
    return tokens


def type_from_number(number: str) -> DocType | None:
    for token in code_tokens(number):
        for doc_type in doc_types():
            if token in doc_type.codes:
                return doc_type
    return None


def issuer_from_number(number: str) -> str:
    """The issuing body the number's code names ("12/2024/TT-BCA" -> "Bộ Công an")."""
    table = _issuer_codes()
    type_codes = {c for t in doc_types() for c in t.codes}
    tokens = code_tokens(number)
    for i, token in enumerate(tokens):
        if token in table and not (i == 0 and len(tokens) > 1 and token in type_codes):
            return table[token]
    return ""
