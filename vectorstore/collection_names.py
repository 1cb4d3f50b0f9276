"""The names of an embedder's Chroma collections (one set per vector space: spaces never mix).

Kept free of Chroma and of any model so that a process can name a collection before it loads either
(``chidao serve`` has its Chroma server load the passages' index while it loads its own modules).
"""

from __future__ import annotations

KINDS = ("chunks", "documents", "tasks", "stamps")


def collection_name(kind: str, embedder_key: str) -> str:
    """``chunks-e5-small``: the collection of ``kind`` (one of ``KINDS``) for the embedder keyed so."""
    if kind not in KINDS:
        raise ValueError(f"collection kind {kind!r}: one of {KINDS}")
    return f"{kind}-{embedder_key}"
