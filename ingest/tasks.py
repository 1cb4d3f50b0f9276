"""Who must do what, by when: tasks extracted from a parsed document.

Three sources:

- assignment sections ("III. PHÂN CÔNG NHIỆM VỤ", "TỔ CHỨC THỰC HIỆN"): each
  numbered item names an agency (in its heading, or as the subject of its text)
  and its sentences are that agency's tasks;
- "Đối với …" items by unit type (sở, ban, ngành; UBND xã, phường; cơ sở giáo
  dục; …): each clause is a task of that unit type;
- elsewhere, a sentence whose subject is an agency and which sets a deadline or
  says "chủ trì"/"phối hợp".

Inside a task, "phối hợp với X" makes X a supporting agency of it. Every task keeps
the exact words it comes from (``quote``), its section and its deadlines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ingest.agencies import ORG_START, Agency, AgencyRegistry, match_words
from ingest.deadlines import Deadline, find_deadlines
from ingest.models import Heading, Paragraph, ParsedDocument

LEAD, SUPPORT = "chủ trì", "phối hợp"

_ASSIGNMENT = re.compile(
    r"phan cong|to chuc thuc hien|trach nhiem|giao nhiem vu|nhiem vu cu the|to chuc trien khai"
)
_FOR_UNIT = re.compile(r"^(?:[dbp][a-z]{0,3}i|doi)\s+v[a-z]{0,2}i\b")  # "Đối với", OCR "Bdi v6i", "Déi voi"
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)*]*\s+(?=[\"“(\-–+]?[A-ZĐÀ-Ỹ0-9])")
_LEADING = re.compile(r"^\s*(?:[-–+•]\s*|\(?[0-9ivx]{1,4}[.)]\s*|[a-zđ]\)\s*)+", re.I)
_PREFIX_WORDS = {"giao", "de", "nghi", "dinh", "ky", "pinh", "hang", "nam"}
EVERYONE = "co-quan-don-vi"  # a deadline that names no agency binds every agency the document addresses
_SUBJECT_VERBS = re.compile(
    r"\b(?:chu tri|phoi hop|tham muu|trien khai|to chuc|chi dao|thuc hien|can cu|co trach nhiem|xay dung"
    r"|huong dan|nang cao|phat huy|chu dong|tap trung|bao cao|dang ky|quan tam|tich cuc|kip thoi|gui|ban hanh)\b"
)
_PARTNER = re.compile(r"\bph[a-z]{1,2}i h[a-z]?p (?:chat che |thuong xuyen )?(?:voi|cung)\b")
_SAYS_LEAD = re.compile(r"\bch[a-z]{0,2} tri\b")
_SAYS_SUPPORT = re.compile(r"\bph[a-z]{1,2}i h[a-z]?p\b")


@dataclass(frozen=True)
class Task:
    agency_id: str
    agency_name: str  # canonical name (or as the document writes an unknown agency)
    role: str  # chủ trì | phối hợp
    text: str  # what must be done
    quote: str  # the exact words of the paragraph this task comes from
    section: str
    deadlines: tuple[Deadline, ...] = ()
    source: str = "assignment"  # assignment | unit-type | sentence | partner
    agency_kind: str = "agency"

    def to_dict(self) -> dict[str, object]:
        return {
            "agency_id": self.agency_id, "agency_name": self.agency_name, "agency_kind": self.agency_kind,
            "role": self.role, "text": self.text, "quote": self.quote, "section": self.section,
            "deadlines": [d.to_dict() for d in self.deadlines], "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Task:
        deadlines = tuple(Deadline.from_dict(d) for d in data.get("deadlines", ()))  # type: ignore[union-attr]
        return cls(
            str(data["agency_id"]), str(data["agency_name"]), str(data["role"]), str(data["text"]),
            str(data["quote"]), str(data["section"]), deadlines, str(data.get("source", "assignment")),
            str(data.get("agency_kind", "agency")),
        )


@dataclass
class _Context:
    """What the current paragraph inherits: its section's agencies, and how they were found."""

    agencies: list[Agency] = field(default_factory=list)
    source: str = ""


def plan_year(doc: ParsedDocument) -> int | None:
    """The year a plan is for: a year in its title ("… năm 2026"), else the year it was signed."""
    years = re.findall(r"(?:19|20)\d\d", doc.meta.title)
    return int(years[-1]) if years else doc.meta.year


_LABEL_ONLY = re.compile(r"^\s*(?:[-–+•]\s*)?(?:\(?[0-9ivxlIVXL]{1,4}[.)]|[a-zđ]\))?\s*$")


def clauses(text: str) -> Iterator[tuple[int, int]]:
    """The sentences of ``text`` as spans; a bare "1." stays with its sentence."""
    start = 0
    for m in _SENTENCE_END.finditer(text):
        piece = text[start:m.start()]
        if piece.strip() and not _LABEL_ONLY.match(piece):
            yield start, m.start()
            start = m.end()
    if text[start:].strip():
        yield start, len(text)


def _semicolon_parts(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a sentence at semicolons outside brackets; fragments of few words stay joined."""
    parts: list[tuple[int, int]] = []
    depth, begin = 0, start
    for i in range(start, end):
        ch = text[i]
        if ch in "(“":
            depth += 1
        elif ch in ")”":
            depth -= 1
        elif ch == ";" and depth <= 0:
            parts.append((begin, i + 1))
            begin = i + 1
    parts.append((begin, end))
    merged: list[tuple[int, int]] = []
    for s, e in parts:
        if not text[s:e].strip():
            continue
        if merged and len(text[s:e].split()) < 6:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def task_spans(text: str, year: int | None) -> Iterator[tuple[int, int]]:
    """Task-sized pieces: sentences, and a sentence's semicolon clauses when it sets a deadline
    (so a deadline binds the clause that states it, not the whole list)."""
    for start, end in clauses(text):
        if ";" in text[start:end] and find_deadlines(text[start:end], year):
            yield from _semicolon_parts(text, start, end)
        else:
            yield start, end


def _unique(agencies: list[Agency]) -> list[Agency]:
    return list({a.id: a for a in agencies}.values())


def _title_agencies(heading: Heading, registry: AgencyRegistry) -> list[Agency]:
    found = [m.agency for m in registry.find(heading.title)]
    if found:
        return _unique(found)
    title = re.sub(r"^\W*(?:đề nghị|giao|đối với)\s+", "", heading.title, flags=re.I)
    parts = [p for p in re.split(r";|,\s*(?=các\b|cac\b)|\s-\s", title) if p.strip()]
    return _unique([a for a in (registry.closest(p) for p in parts) if a is not None])


def _subject(clause: str, registry: AgencyRegistry) -> list[Agency]:
    """Agencies a clause opens with: "Giao Công an tỉnh chủ trì", "Các ngành …, Ban Chỉ đạo cấp xã xây dựng"."""
    body = _LEADING.sub("", clause)
    for _, start, end in find_deadlines(body):
        body = body[:start] + " " * (end - start) + body[end:]
    words = match_words(body)
    skip = 0
    while skip < len(words) and skip < 6 and words[skip] in _PREFIX_WORDS:
        skip += 1
    mentions = registry.find(" ".join(words[skip:skip + 40]))
    chosen: list[Agency] = []
    position = 0
    for m in mentions:
        if m.start > position + 2:
            break
        chosen.append(m.agency)
        position = m.end
    if chosen:
        return _unique(chosen)
    head = " ".join(words[skip:skip + 12])
    verb = _SUBJECT_VERBS.search(head)
    if verb and ORG_START.match(head) and 2 <= len(head[:verb.start()].split()) <= 9:
        original = _original_words(body, len(head[:verb.start()].split()), skip)
        return [registry.ad_hoc(original)]
    return []


def _original_words(text: str, count: int, skip: int) -> str:
    """The first ``count`` words after ``skip`` words of ``text``, as written."""
    spans = [m.span() for m in re.finditer(r"\w[\w&'’.-]*", text)]
    if len(spans) < skip + count:
        return text
    return text[spans[skip][0]:spans[skip + count - 1][1]]


def _role(clause: str, registry: AgencyRegistry) -> str:
    """"Phối hợp …" opening a task (before any "chủ trì") makes it a supporting one."""
    words = match_words(_LEADING.sub("", clause))
    mentions = registry.find(" ".join(words[:30]))
    if mentions and mentions[0].start <= 1:
        words = words[mentions[0].end:]
    head = " ".join(words[:12])
    lead = _SAYS_LEAD.search(head)
    support = _SAYS_SUPPORT.search(head)
    if support and support.start() < 30 and (lead is None or support.start() < lead.start()):
        return SUPPORT
    return LEAD


def _partners(clause: str, registry: AgencyRegistry, exclude: set[str]) -> list[Agency]:
    folded = " ".join(match_words(clause))
    out = []
    for m in _PARTNER.finditer(folded):
        tail = folded[m.end():m.end() + 200]
        for mention in registry.find(tail):
            if mention.start > 1:
                break
            if mention.agency.kind == "agency" and mention.agency.id not in exclude:
                out.append(mention.agency)
            tail_words = tail.split()
            if mention.end < len(tail_words) and tail_words[mention.end] not in ("va", "cac"):
                break
    return _unique(out)


def _for_unit_heading(path: tuple[Heading, ...]) -> Heading | None:
    for heading in reversed(path):
        if heading.title and _FOR_UNIT.match(" ".join(match_words(heading.title))):
            return heading
    return None


def _is_assignment(path: tuple[Heading, ...]) -> bool:
    top = path[0] if path else None
    return bool(top and top.kind in ("roman", "arabic") and _ASSIGNMENT.search(" ".join(match_words(top.title))))


class TaskExtractor:
    def __init__(self, registry: AgencyRegistry | None = None) -> None:
        self.registry = registry or AgencyRegistry.default()

    def extract(self, doc: ParsedDocument) -> list[Task]:
        year = plan_year(doc)
        tasks: list[Task] = []
        inherited: dict[tuple[Heading, ...], _Context] = {}
        for para in doc.paragraphs:
            if para.kind in ("header", "closing", "footnote") or not para.path:
                continue
            context = self._context(para, inherited)
            tasks.extend(self._paragraph_tasks(para, context, year))
        return _dedupe(tasks)

    def _context(self, para: Paragraph, inherited: dict[tuple[Heading, ...], _Context]) -> _Context:
        unit = _for_unit_heading(para.path)
        if unit is not None:
            return _Context(_title_agencies(unit, self.registry), "unit-type")
        if _is_assignment(para.path) and len(para.path) >= 2:
            item = para.path[1]
            if item.title and (found := _title_agencies(item, self.registry)):
                return _Context(found, "assignment")
            return inherited.setdefault(para.path[:2], _Context(source="subject"))
        return _Context()

    def _paragraph_tasks(self, para: Paragraph, context: _Context, year: int | None) -> Iterator[Task]:
        for start, end in task_spans(para.text, year):
            quote = para.text[start:end].strip()
            deadlines = tuple(d for d, _, _ in find_deadlines(quote, year))
            agencies, source = context.agencies, context.source
            if source == "subject":  # an assignment item whose agency is the subject of its sentences
                context.agencies = _subject(quote, self.registry) or context.agencies
                agencies, source = context.agencies, "assignment"
            if not agencies:
                subject = _subject(quote, self.registry)
                folded = " ".join(match_words(quote))
                if not subject and deadlines and (everyone := self.registry.get(EVERYONE)):
                    subject = [everyone]
                if not subject or not (deadlines or _SAYS_LEAD.search(folded) or _SAYS_SUPPORT.search(folded)):
                    continue
                agencies, source = subject, "sentence"
            role = _role(quote, self.registry) if source != "unit-type" else LEAD
            text = _LEADING.sub("", quote).strip()
            for agency in agencies:
                yield Task(agency.id, agency.name, role, text, quote, para.section, deadlines, source, agency.kind)
            for partner in _partners(quote, self.registry, {a.id for a in agencies}):
                yield Task(partner.id, partner.name, SUPPORT, text, quote, para.section, deadlines, "partner",
                           partner.kind)


def _dedupe(tasks: list[Task]) -> list[Task]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for task in tasks:
        key = (task.agency_id, task.quote, task.role)
        if key not in seen:
            seen.add(key)
            out.append(task)
    return out

