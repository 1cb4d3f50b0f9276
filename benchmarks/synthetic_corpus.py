"""Write a synthetic corpus of directive documents recombined from the five seeds.

    python benchmarks/synthetic_corpus.py --out /tmp/chidao-synth/docs --chunks 10000 [--seed 1]

The seeds are parsed with the project's own parser; their numbered sections
("1. Sở Y tế", with the bullets and lettered points under them) are the
building blocks. Each new document gets its own header (issuer, số hiệu, place,
date, type, trích yếu), an opening paragraph taken from a seed, sections drawn
at random from all seeds and re-numbered, and a closing with a signer. Inside a
document, places, agencies (Sở ...), years, dates, document numbers and
percentages are varied. Documents are written until the project's chunker,
counting with the real e5 tokenizer, reaches ``--chunks``.
"""

from __future__ import annotations

import argparse
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from common import SAMPLES, log

from ingest.chunker import chunk_document
from ingest.models import Heading, ParsedDocument
from ingest.pipeline import parse_file

PROVINCES = (
    "Hà Giang", "Tuyên Quang", "Cao Bằng", "Lạng Sơn", "Điện Biên", "Sơn La", "Yên Bái", "Phú Thọ",
    "Thái Nguyên", "Bắc Ninh", "Quảng Ninh", "Hưng Yên", "Ninh Bình", "Thanh Hóa", "Nghệ An", "Hà Tĩnh",
    "Quảng Trị", "Quảng Ngãi", "Gia Lai", "Đắk Lắk", "Khánh Hòa", "Lâm Đồng", "Đồng Nai", "Tây Ninh",
    "Vĩnh Long", "Đồng Tháp", "Cà Mau", "An Giang", "Kon Tum", "Bình Định", "Hòa Bình", "Bắc Giang",
)
SEED_PLACES = ("Lào Cai", "Lai Châu", "Trạm Tấu", "Lao Cai")
AGENCIES = (
    "Sở Y tế", "Sở Tư pháp", "Sở Nội vụ", "Sở Tài chính", "Sở Xây dựng", "Sở Giáo dục và Đào tạo",
    "Sở Văn hóa, Thể thao và Du lịch", "Sở Dân tộc và Tôn giáo", "Sở Công Thương",
    "Sở Nông nghiệp và Môi trường", "Sở Khoa học và Công nghệ",
)
SIGNERS = (
    "Nguyễn Văn Hùng", "Trần Thị Lan", "Lê Minh Tuấn", "Phạm Quốc Bảo", "Hoàng Văn Nam", "Vũ Thị Hạnh",
    "Đặng Đức Thắng", "Bùi Thanh Sơn", "Đỗ Mạnh Cường", "Hà Thị Thu", "Lò Văn Pâng", "Giàng A Dình",
)
# (issuer lines, code after the type, signature block)
ISSUERS = (
    ("ỦY BAN NHÂN DÂN\nTỈNH {P}", "UBND", "TM. ỦY BAN NHÂN DÂN\nKT. CHỦ TỊCH\nPHÓ CHỦ TỊCH"),
    ("UBND TỈNH {P}\nBCĐ PHÒNG CHỐNG TP,\nTNXH VÀ XDPT TOÀN\nDÂN BẢO VỆ ANTQ", "BCĐ",
     "KT. TRƯỞNG BAN\nPHÓ TRƯỞNG BAN THƯỜNG TRỰC"),
    ("UBND TỈNH {P}\nVĂN PHÒNG", "VPUBND", "KT. CHÁNH VĂN PHÒNG\nPHÓ CHÁNH VĂN PHÒNG"),
    ("BỘ CÔNG AN\nCÔNG AN TỈNH {P}", "CAT-PV01", "KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC"),
)
TITLES = {
    "KH": (
        "Công tác phòng, chống tội phạm, tệ nạn xã hội và xây dựng Phong trào toàn dân bảo vệ an ninh Tổ quốc "
        "năm {Y} trên địa bàn tỉnh {p}",
        "Triển khai thực hiện Phong trào thi đua “Toàn dân bảo vệ an ninh Tổ quốc” trên địa bàn tỉnh {p}",
        "Công tác xây dựng phong trào toàn dân bảo vệ an ninh Tổ quốc năm {Y}",
        "Bảo đảm an ninh, trật tự dịp Tết Nguyên đán và các lễ hội xuân năm {Y}",
        "Cao điểm tấn công, trấn áp tội phạm, bảo đảm an ninh, trật tự năm {Y}",
        "Phòng, chống ma túy trong các cơ sở giáo dục năm {Y}",
        "Bảo đảm trật tự, an toàn giao thông trên địa bàn tỉnh {p} năm {Y}",
        "Xây dựng xã, phường, cơ quan, doanh nghiệp, cơ sở giáo dục điển hình về Phong trào toàn dân "
        "bảo vệ an ninh Tổ quốc năm {Y}",
    ),
    "CV": (
        "V/v phát động Phong trào thi đua toàn dân bảo vệ ANTQ năm {Y}",
        "V/v tăng cường bảo đảm an ninh, trật tự trên địa bàn tỉnh {p}",
        "V/v đăng ký xây dựng khu dân cư, xã, phường đạt tiêu chuẩn “An toàn về an ninh, trật tự” năm {Y}",
        "V/v triển khai công tác phòng, chống tội phạm, tệ nạn xã hội năm {Y}",
    ),
    "PĐTĐ": (
        "Phong trào toàn dân bảo vệ an ninh Tổ quốc năm {Y}",
        "Thi đua cao điểm bảo đảm an ninh, trật tự, an toàn xã hội năm {Y}",
    ),
}
TYPE_LINES = {"KH": "KẾ HOẠCH", "PĐTĐ": "PHÁT ĐỘNG THI ĐUA"}
RECEIVERS = (
    "- Bộ Công an (b/c);", "- TT. Tỉnh ủy;", "- TT. HĐND tỉnh;", "- Chủ tịch, các Phó Chủ tịch UBND tỉnh;",
    "- Ủy ban MTTQ Việt Nam tỉnh;", "- Các sở, ban, ngành, đoàn thể tỉnh;", "- UBND các xã, phường;",
    "- Công an các xã, phường;", "- Lãnh đạo VP UBND tỉnh;",
)
# A date, a document number ("195/KH-UBND"), a year or a percentage, varied in one pass.
_VARIABLE = re.compile(
    r"(?P<date>\b\d{1,2}/\d{1,2}/(?:19|20)\d\d\b)"
    r"|(?<!/)(?P<num>\b\d{1,4})(?P<code>\s?/\s?[A-ZĐ]{1,6}(?:-[A-ZĐ0-9]+)+)"
    r"|(?P<year>\b20[12]\d\b)"
    r"|(?P<pct>\b\d{2,3})(?P<pctmark>\s?%)"
)


@dataclass(frozen=True)
class Block:
    """A paragraph of a seed: its heading path below the numbered section, and its text."""

    tail: tuple[Heading, ...]
    kind: str
    text: str


@dataclass(frozen=True)
class Section:
    """A numbered section of a seed ("1. ...") with every paragraph under it."""

    blocks: tuple[Block, ...]


@dataclass
class Pools:
    sections: list[Section]  # from seeds with their diacritics
    scanned: list[Section]  # from OCR'd seeds that lost them: only for "scanned" documents, never mixed
    roman_titles: list[str]
    openings: list[str]


# -- reading the seeds -------------------------------------------------------


def _numbered_tail(path: tuple[Heading, ...]) -> tuple[Heading, ...] | None:
    """The part of a heading path from the arabic-numbered level down, or None."""
    tail = path[1:] if path and path[0].kind == "roman" else path
    if not tail or tail[0].kind != "arabic" or any(h.kind in ("note", "part") for h in tail):
        return None
    return tail


def _sections_of(doc: ParsedDocument) -> Iterator[Section]:
    current: list[Block] = []
    key: tuple[Heading, ...] | None = None
    for para in doc.paragraphs:
        tail = _numbered_tail(para.path)
        if tail is None or para.kind == "footnote":
            continue
        head = para.path[: len(para.path) - len(tail) + 1]
        if head != key and current:
            yield Section(tuple(current))
            current = []
        key = head
        current.append(Block(tail, para.kind, para.text))
    if current:
        yield Section(tuple(current))


def _lost_diacritics(doc: ParsedDocument) -> bool:
    text = doc.text
    return sum(not ch.isascii() for ch in text) < 0.08 * max(1, len(text))  # 0.20 with them, 0.03 without


def read_seeds(folder: Path = SAMPLES) -> Pools:
    pools = Pools([], [], [], [])
    for path in sorted(folder.glob("*.txt")):
        doc = parse_file(path)
        if _lost_diacritics(doc):
            pools.scanned.extend(_sections_of(doc))
            continue
        pools.sections.extend(_sections_of(doc))
        for para in doc.paragraphs:
            top = para.path[0] if para.path else None
            if top and top.kind == "roman" and top.title and top.title not in pools.roman_titles:
                pools.roman_titles.append(top.title)
            if top and top.kind == "part" and para.kind == "body" and len(para.text) > 150:
                pools.openings.append(para.text)
    return pools


# -- writing one document ------------------------------------------------------


def _marker(heading: Heading, number: int) -> str:
    if heading.kind == "arabic":
        return f"{number}."
    if heading.kind == "decimal":
        return f"{number}.{heading.label.split('.', 1)[1]}."
    return f"{heading.label})"


def _renumber(text: str, heading: Heading, number: int) -> str:
    """A heading paragraph carries its own marker ("8. Sở Y tế chủ trì ..."): give it the new number."""
    if heading.kind in ("arabic", "decimal"):
        return re.sub(r"^\s*\d{1,2}(?=\s*[.)])", str(number), text, count=1)
    return text


def render_section(section: Section, number: int) -> list[str]:
    out: list[str] = []
    written: set[tuple[Heading, ...]] = set()
    for block in section.blocks:
        text = block.text
        for depth, heading in enumerate(block.tail, start=1):
            key = block.tail[:depth]
            if key in written:
                continue
            written.add(key)
            if depth == len(block.tail) and block.kind == "heading":
                text = _renumber(text, heading, number)
            elif heading.title:
                out.append(f"{_marker(heading, number)} {heading.title}")
            elif depth == len(block.tail):
                text = f"{_marker(heading, number)} {text}"
            else:
                out.append(_marker(heading, number))
        out.append(text)
    return out


class Varier:
    """Per-document substitutions: place, agencies, years, dates, numbers, percentages."""

    def __init__(self, rng: random.Random, province: str) -> None:
        self.rng = rng
        self.province = province
        self.year_shift = rng.randint(-3, 1)
        shuffled = list(AGENCIES)
        rng.shuffle(shuffled)
        self.agencies = dict(zip(AGENCIES, shuffled))
        names = sorted((*SEED_PLACES, *AGENCIES), key=len, reverse=True)
        self._names = re.compile("|".join(re.escape(n) for n in names))

    def year(self, year: int) -> int:
        return year + self.year_shift

    def __call__(self, text: str) -> str:
        text = self._names.sub(lambda m: self.agencies.get(m[0], self.province), text)
        return _VARIABLE.sub(self._vary, text)

    def _vary(self, m: re.Match[str]) -> str:
        rng = self.rng
        if m["date"]:
            year = int(m["date"].rsplit("/", 1)[1])
            return f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/{self.year(year)}"
        if m["num"]:
            return f"{rng.randint(1, 450)}{m['code']}"
        if m["year"]:
            return str(self.year(int(m["year"])))
        value = int(m["pct"])
        value = max(10, min(100, value + rng.choice((-10, -5, 0, 0, 5))))
        return f"{value}{m['pctmark']}"


def _header(rng: random.Random, kind: str, province: str, year: int) -> list[str]:
    issuer, code, _ = rng.choice(ISSUERS)
    number = "" if rng.random() < 0.2 else str(rng.randint(1, 450))
    day = "" if rng.random() < 0.2 else str(rng.randint(1, 28))
    title = rng.choice(TITLES[kind]).format(Y=year, p=province)
    lines = [
        issuer.format(P=province.upper()),
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc",
        f"Số: {number}/{kind}-{code}",
        f"{province}, ngày {day} tháng {rng.randint(1, 12):02d} năm {year}",
    ]
    if kind == "CV":
        lines += [title, "Kính gửi:\n\n- Các sở, ban, ngành, đoàn thể tỉnh;\n- Ủy ban nhân dân các xã, phường."]
    else:
        lines += [f"{TYPE_LINES[kind]}\n{title}"]
    return lines


def _body(rng: random.Random, pools: Pools, kind: str) -> list[str]:
    scanned = bool(pools.scanned) and rng.random() < 0.15
    sections = pools.scanned if scanned else pools.sections
    out: list[str] = []
    if kind == "KH":
        titles = rng.sample(pools.roman_titles, rng.randint(2, min(5, len(pools.roman_titles))))
        for roman, title in zip(("I", "II", "III", "IV", "V"), titles):
            out.append(f"{roman}. {title}")
            for number, section in enumerate(rng.sample(sections, rng.randint(2, 7)), start=1):
                out += render_section(section, number)
    else:
        for number, section in enumerate(rng.sample(sections, rng.randint(3, 8)), start=1):
            out += render_section(section, number)
    return out


def _closing(rng: random.Random, kind: str) -> list[str]:
    _, _, signature = rng.choice(ISSUERS)
    name = {"KH": "Kế hoạch", "CV": "Công văn", "PĐTĐ": "Phát động thi đua"}[kind]
    receivers = "\n".join(["Nơi nhận:", *rng.sample(RECEIVERS, rng.randint(3, 7)), "- Lưu: VT."])
    return [
        f"Trên đây là {name} của cơ quan, đề nghị các đơn vị, địa phương nghiêm túc triển khai thực hiện./.",
        receivers, signature, rng.choice(SIGNERS),
    ]


def document_text(rng: random.Random, pools: Pools) -> str:
    kind = rng.choices(("KH", "CV", "PĐTĐ"), weights=(6, 2.5, 1.5))[0]
    province = rng.choice(PROVINCES)
    vary = Varier(rng, province)
    header = _header(rng, kind, province, vary.year(2026))
    opening = [rng.choice(pools.openings)] if pools.openings else []
    parts = header + [vary(p) for p in opening + _body(rng, pools, kind)] + _closing(rng, kind)
    return "\n\n".join(parts) + "\n"


# -- the corpus ---------------------------------------------------------------


def default_token_counter() -> Callable[[str], int]:
    from vectorstore.embeddings import E5Embedder

    return E5Embedder().count_tokens


def generate(
    out: Path, target_chunks: int, seed: int = 1, chunk_tokens: int = 400,
    count_tokens: Callable[[str], int] | None = None, documents_only: int = 0,
) -> tuple[int, int]:
    """Write documents into ``out`` until they hold ``target_chunks`` chunks; return (documents, chunks).
    With ``documents_only``, write that many documents without parsing them: the same texts (the parse
    does not touch the random sequence), chunks then reads 0."""
    count_tokens = count_tokens or (None if documents_only else default_token_counter())
    rng = random.Random(seed)
    pools = read_seeds()
    out.mkdir(parents=True, exist_ok=True)
    documents = chunks = 0
    while (documents < documents_only) if documents_only else (chunks < target_chunks):
        path = out / f"synth_{documents:05d}.txt"
        path.write_text(document_text(rng, pools), encoding="utf-8")
        documents += 1
        if not documents_only:
            chunks += _chunk_count(path, chunk_tokens, count_tokens)
        if documents % 50 == 0:
            log(f"generated {documents} documents, {chunks} chunks")
    return documents, chunks


def _chunk_count(path: Path, chunk_tokens: int, count_tokens: Callable[[str], int]) -> int:
    parsed = parse_file(path)
    if not (parsed.meta.doc_type and parsed.meta.place and parsed.meta.title):
        log(f"warning: {path.name}: header not fully read: {parsed.meta}")
    return len(chunk_document(parsed, chunk_tokens, count_tokens))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for the generated .txt files")
    parser.add_argument("--chunks", type=int, default=10_000, help="chunks to reach (counted by the chunker)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--documents", type=int, default=0,
                        help="write this many documents without parsing them (seed 1: 4278 give 100,017 chunks)")
    args = parser.parse_args()
    if any(args.out.glob("*.txt")):
        parser.error(f"{args.out} already holds .txt files; use an empty folder")
    documents, chunks = generate(args.out, args.chunks, args.seed, documents_only=args.documents)
    print(f"synthetic corpus: {documents} documents, {chunks} chunks (chunker count) in {args.out}")


if __name__ == "__main__":
    main()
