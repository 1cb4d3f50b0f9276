"""Which language a question is in, and the Vietnamese names inside an English one.

The English words that decide it are data (``vectorstore/lexicon/english.tsv``).
"""

from __future__ import annotations

import re

from ingest.folding import has_marks
from vectorstore.text import Lexicon

# The shape of a Vietnamese syllable typed without diacritics ("y", "te", "nghieng").
_SYLLABLE = re.compile(
    r"(?:ngh|ch|gh|gi|kh|ng|nh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?"
)


def looks_english(text: str, lexicon: Lexicon) -> bool:
    """An English question: two English-only words among Vietnamese names, or, without
    diacritics, one English hint word in two words or more."""
    found = re.findall(r"[\w']+", text.lower())
    if any(has_marks(w) for w in found):
        return sum(w in lexicon.english["only"] for w in found) >= 2
    plain = [w for w in found if w.isascii() and not w.isdigit()]
    return len(plain) >= 2 and any(w in lexicon.english["hint"] for w in plain)


def vietnamese_runs(text: str, lexicon: Lexicon) -> str:
    """The Vietnamese words of a mixed question: words with diacritics, and the plain
    Vietnamese syllables next to them ("Y" in "what is Sở Y tế assigned")."""
    found = re.findall(r"\w+", text)
    keep = [has_marks(t) for t in found]
    english = lexicon.english["stop"] | lexicon.english["only"]

    def plain_syllable(t: str) -> bool:
        low = t.lower()
        return bool(_SYLLABLE.fullmatch(low)) and low not in english

    changed = True
    while changed:
        changed = False
        for i, t in enumerate(found):
            near = (i > 0 and keep[i - 1]) or (i + 1 < len(found) and keep[i + 1])
            if not keep[i] and near and plain_syllable(t):
                keep[i] = changed = True
    return " ".join(t for t, k in zip(found, keep) if k)
