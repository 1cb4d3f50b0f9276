"""Characters that must never reach a label or the text a label is read from.

Control characters (C0, C1 except tab, newline and form feed) and the bidirectional
formatting characters (overrides such as U+202E, embeddings, isolates, marks) can make
a source name or a title display as something else ("tài-liệu\u202etxt.exe"). They are
dropped from document text at normalisation and from file names at ingest.
"""

from __future__ import annotations

import re
import unicodedata

# Dropped from document text (tab, newline and form feed, the page break, are kept).
UNSAFE_IN_TEXT = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"\s+")


def clean_label(text: str) -> str:
    """A one-line label: NFC, no control or format characters (bidi, zero-width), single spaces."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if ch.isspace() else ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf")
                   or ch.isspace())
    return _SPACES.sub(" ", text).strip()
