"""The one judge of "answered", on one scale, for every way of answering.

Before an answer is composed, :meth:`Judge.assess` scores the best passages found
for a question: the share (0..1) of the question's content weight a passage holds,
read with its document line, headings, issuer and place. A passage holds nothing
when it does not hold what the question names — a place, a document, an article,
an agency. The question is answerable when a passage reaches ``threshold``; the
answerers (extractive, task list, language model) get only those passages.

After an answer is composed, :meth:`Judge.accept` keeps it only if it cites: each
citation's quotes are non-empty text of its section, and a cited passage reaches
the threshold. Otherwise the answer is "not found".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import prompts
from bot.citations import Answer, Citation
from bot.extract import Weight, query_weights, states, with_context
from bot.figures import states_figure
from ingest.folding import has_marks, toned_words
from vectorstore.question import Question
from vectorstore.retriever import Passage
from vectorstore.text import Lexicon, contains_run, passage_terms, tokens, words

SectionText = Callable[[Passage], str]
_MARKER = re.compile(r"[ \t]*\[(\d+)\]")


def not_found(language: str = "vi", mode: str = "extractive") -> Answer:
    """The plain "not found in the documents" answer, in the question's language."""
    return Answer(prompts.load("not_found.txt", language), False, mode=mode)


@dataclass(frozen=True)
class Verdict:
    answerable: bool
    score: float  # the best considered passage's share of the question, 0..1
    passages: tuple[Passage, ...] = ()  # the considered passages that answer, best first
    reason: str = ""  # why not: no-passages | too-little


class Judge:
    """``weight``: a term's IDF in the current index, taken to ``idf_power`` (below 1, one rare
    word — "nộp", "gửi" — weighs less against the rest); ``threshold``: the least share of a
    question a passage must hold; ``min_pairs``: the least share of the question's word pairs
    ("hộ chiếu", "huân chương") a passage must hold — the three calibrated on the tune half of
    tests/data/refusal.jsonl (``benchmarks/refusal.py``);
    ``consider``: how many of the best passages are looked at; ``section_text``: the
    text of a passage's whole section (quotes may come from any passage of it)."""

    def __init__(
        self,
        weight: Weight,
        lexicon: Lexicon,
        threshold: float = 0.6,
        consider: int = 5,
        min_pairs: float = 0.15,
        section_text: SectionText | None = None,
        idf_power: float = 0.75,
    ) -> None:
        self.weight: Weight = lambda term: weight(term) ** idf_power
        self.lexicon = lexicon
        self.threshold = threshold
        self.consider = consider
        self.min_pairs = min_pairs
        self.section_text = section_text

    # -- before composing -------------------------------------------------------

    def assess(self, question: Question, passages: Sequence[Passage]) -> Verdict:
        if not passages:
            return Verdict(False, 0.0, reason="no-passages")
        weights = query_weights(question, self.weight)
        scored = [(self.score(question, p, weights), p) for p in passages[: self.consider]]
        answering = tuple(p for s, p in scored if s >= self.threshold)
        return Verdict(bool(answering), max(s for s, _ in scored), answering, "" if answering else "too-little")

    def score(self, question: Question, passage: Passage, weights: dict[str, float] | None = None) -> float:
        """The share of ``question`` that ``passage`` answers: 0 when it misses what the question
        names (place, document, article, agency), does not state what it asks for (a date, a
        figure), or holds too few of its word pairs."""
        weights = weights if weights is not None else query_weights(question, self.weight)
        text = with_context(passage)
        held = words(text)
        if not self.names_held(question, passage, held):
            return 0.0
        if not self.states_asked(question, passage.chunk.text):
            return 0.0
        agencies = self._agencies(question, passage, held)
        if agencies is None:
            return 0.0
        if self._pairs(question, text, agencies) < self.min_pairs:
            return 0.0
        return self._coverage(question, passage, text, held, weights, agencies)

    def states_asked(self, question: Question, text: str) -> bool:
        """Whether ``text`` states what the question asks for: a date or period (when; a day when it
        asks "ngày nào" or for a deadline), a figure of what it counts (how many: "85%", "01 xã"; not
        a date or a document number; in a text without diacritics, OCR, a figure of anything)."""
        if "when" in question.intents and not states("date" if question.dated else "when", text):
            return False
        if question.which_place and not self.names_a_place(question, text):
            return False
        measure = question.measure if written_with_marks(text) else ()  # OCR garbles words: "05 nim"
        return "how_many" not in question.intents or states_figure(text, self.lexicon, measure, question.identifier)

    def names_a_place(self, question: Question, text: str) -> bool:
        """Whether ``text`` names a place of the kind asked ("xã Bản Xèo" for "xã nào"; any
        kind for an English question): the opening word, then a capitalised name."""
        toks = tokens(text)
        folded = [t.word for t in toks]
        for m in self.lexicon.places.scan(folded, [t.toned for t in toks], written_with_marks(text)):
            kind = question.english or tuple(folded[m.start:m.end]) == question.which_place
            if kind and m.end < len(toks) and text[toks[m.end].start].isupper():
                return True
        return False

    def _agencies(self, question: Question, passage: Passage, held: list[str]) -> set[str] | None:
        """The agencies named by the question that the passage names (all of them when it is
        addressed to all departments, "các sở, ban, ngành"); None when it names none of them."""
        named = question.named
        if not named:
            return set()
        if self.lexicon.all_units.scan(words(passage.chunk.text)):
            return set(named)
        found = named.keys() & {m.agency.id for m in self.lexicon.registry.find_words(held)}
        return found or None

    def _pairs(self, question: Question, text: str, agencies: set[str]) -> float:
        """Share (IDF-weighted) of the question's word pairs ("hộ chiếu") the text holds; 1 if it has none.

        Vietnamese words are often two syllables: syllables alone match by accident. The
        pairs of an agency's name are held when the text names the agency, however spelled."""
        if not question.pairs:
            return 1.0
        weights = {t: self.weight(t) for t, _ in question.pairs}
        terms = set(passage_terms(text, self.lexicon)) | {t for t, agency in question.pairs if agency in agencies}
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if t in terms) / total if total else 1.0

    def names_held(self, question: Question, passage: Passage, held: list[str] | None = None) -> bool:
        """The passage (with its document) names every place, document, article, number, name
        ("Đà Nẵng") and unknown agency the question names."""
        if not names_anything(question):
            return True  # every check below holds for a question naming nothing: the passage is not read
        held = held if held is not None else words(with_context(passage))
        if any(not contains_run(held, p.words) for p in question.places):
            return False
        if not set(question.numbers) <= set(held) or any(not contains_run(held, n) for n in question.names):
            return False
        if any(not contains_run(held, ("dieu", a.article)) for a in question.articles):
            return False
        if any(not a.known and not contains_run(held, a.run) for a in question.agencies):
            return False
        number = words(passage.document.doc_number)
        for ref in question.documents:
            own = words(ref.number)
            if own and (number == own or (len(own) == 1 and number[:1] == own)):
                continue
            name = words(passage.document.name)  # "Luật Điện ảnh 2022", its số hiệu not in between
            if not any(contains_run(held, run) or contains_run(name, run) for run in ref.runs()):
                return False
        return True

    def _coverage(
        self, question: Question, passage: Passage, text: str, held: list[str], weights: dict[str, float],
        agencies: set[str],
    ) -> float:
        """Share of the question's content words (IDF-weighted) the passage holds.

        Only single words count here (the pairs are checked apart). A passage naming an
        agency of the question holds its name however the question spelled it ("Sở GD&ĐT").
        An English question's words the glossary does not know count too: held only as written.
        """
        named = question.named
        cued = {w for agency in agencies for w in named[agency]}
        single = {t: w for t, w in weights.items() if "_" not in t}
        single.update((t, self.weight(t)) for t in question.untranslated)
        return self._share(question, single, text, held, passage.chunk.text, cued)

    def share(self, question: Question, wanted: Sequence[str], text: str) -> float:
        """The judge's scale on any text: the share (IDF-weighted) of ``wanted`` words it holds
        (how the task list's tasks are weighed against the rest of a question)."""
        weights = self.weights(wanted)
        return self._share(question, weights, text, words(text), text, set()) if weights else 1.0

    def weights(self, wanted: Sequence[str]) -> dict[str, float]:
        """Each of ``wanted``'s words with its weight on the judge's scale."""
        return {w: self.weight(w) for w in set(wanted)}

    def _share(
        self, question: Question, weights: dict[str, float], text: str, held: list[str], body: str, cued: set[str]
    ) -> float:
        """A word has its everyday equivalents ("nộp" / "gửi"); cue words count as held when
        ``body`` states what they ask for ("hạn" by a date). A word the question wrote with
        diacritics must be spelled so in a text that has them: "nghỉ" is not "nghị"."""
        total = sum(weights.values())
        if not total:
            return 0.0
        terms = set(held)
        spelled = set(toned_words(text)) if question.forms and written_with_marks(body) else set()
        cued = set(cued)
        for intent, cue in question.cues.items():
            if states(intent, body):
                cued |= cue

        def holds(t: str) -> bool:
            if t in cued or any(e in terms for e in self.lexicon.equivalents.get(t, ())):
                return True
            if spelled and t in question.forms:
                return not spelled.isdisjoint(question.forms[t])
            return t in terms

        return sum(w for t, w in weights.items() if holds(t)) / total

    # -- after composing --------------------------------------------------------

    def accept(self, question: Question, answer: Answer, verdict: Verdict | None = None) -> Answer:
        """``answer`` if it is answered, cited as it must be and grounded; else "not found".

        Grounded: a citation quotes one of the passages ``verdict`` found answering, or
        its quotes (read with their headings and document) reach the threshold, or —
        asked who signed — it quotes the signature of a document found answering.
        """
        if not answer.answered:
            return answer if answer.answer.strip() else replace(not_found(question.language), mode=answer.mode)
        valid = [c for c in answer.citations if self.quoted(c)]
        answering = verdict.passages if verdict else ()
        chunks = {p.chunk.id for p in answering}
        documents = {p.document.id for p in answering} if "signer" in question.intents else set()
        if not any(c.passage.chunk.id in chunks or c.passage.document.id in documents or self._answers(question, c)
                   for c in valid):
            return replace(not_found(question.language), mode=answer.mode, note=answer.note)
        return answer if len(valid) == len(answer.citations) else _keep(answer, valid)

    def _answers(self, question: Question, citation: Citation) -> bool:
        """Whether the citation's quotes, read with their headings and document, reach the threshold."""
        quoted = replace(citation.passage, chunk=replace(citation.passage.chunk, text="\n".join(citation.quotes)))
        return self.score(question, quoted) >= self.threshold

    def quoted(self, citation: Citation) -> bool:
        """Each quote of ``citation`` is non-empty text of its section."""
        own = citation.passage.chunk.text
        for quote in citation.quotes:
            if not quote.strip():
                return False
            if quote not in own and not (self.section_text and quote in self.section_text(citation.passage)):
                return False
        return True


def _keep(answer: Answer, valid: list[Citation]) -> Answer:
    """``answer`` citing only ``valid`` (renumbered 1..k; markers of the others removed)."""
    numbers = {c.n: i for i, c in enumerate(sorted(valid, key=lambda c: c.n), 1)}

    def renumber(m: re.Match[str]) -> str:
        new = numbers.get(int(m.group(1)))
        return m.group(0).replace(m.group(1), str(new)) if new else ""

    citations = tuple(replace(c, n=numbers[c.n]) for c in sorted(valid, key=lambda c: c.n))
    return replace(answer, answer=_MARKER.sub(renumber, answer.answer), citations=citations)


def names_anything(question: Question) -> bool:
    """Whether :meth:`Judge.names_held` has anything to look for."""
    return bool(question.places or question.numbers or question.names or question.articles or question.documents
                or any(not a.known for a in question.agencies))


@lru_cache(maxsize=32768)  # asked of every task text on every task-list question
def written_with_marks(text: str, share: float = 0.3) -> bool:
    """Whether a passage is written with diacritics (the OCR document is not)."""
    found = re.findall(r"[^\W\d_]+", text)
    return bool(found) and sum(has_marks(w) for w in found) >= share * len(found)
