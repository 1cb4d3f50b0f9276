"""Background task prompts of chat front ends, answered briefly and without retrieval.

Open WebUI asks the model, besides each question, for a chat title, tags, follow-up
suggestions, an autocompletion or retrieval queries: one user message that fills a task
template and expects a small JSON object back. Searching the documents for such a prompt
yields "not found" (a junk title for every chat) and costs a full answer. Which prompts are
tasks is data: ``bot/data/client_tasks.tsv``; the replies' words live in ``prompts/``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import prompts

TITLE_WORDS = 8
TITLE_CHARS = 60
_HISTORY = re.compile(r"<chat_history>(.*?)</chat_history>", re.S | re.I)
_TURN = re.compile(r"^(USER|ASSISTANT|SYSTEM):[ \t]?", re.M)
_SPACE = re.compile(r"\s+")


@cache
def _table() -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """(gate signatures, (kind, signature) rows) from the TSV."""
    text = resources.files("bot.data").joinpath("client_tasks.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]
    pairs = [(kind.strip(), _compact(sig)) for kind, sig in rows[1:]]  # rows[0] is the header
    return tuple(s for k, s in pairs if k == "gate"), tuple((k, s) for k, s in pairs if k != "gate")


def _compact(text: str) -> str:
    return _SPACE.sub("", text).lower()


@dataclass(frozen=True)
class ClientTask:
    kind: str  # title | tags | follow_ups | queries | autocomplete
    turns: tuple[tuple[str, str], ...]  # (role, text) of the chat history the prompt quotes

    def user_texts(self) -> list[str]:
        return [text for role, text in self.turns if role == "user" and text]

    def reply(self) -> str:
        """The JSON text the front end parses."""
        users = self.user_texts()
        if self.kind == "title":
            data: dict[str, object] = {"title": short_title(users[0]) if users else prompts.load(
                "client_title_default.txt")}
        elif self.kind == "tags":
            data = {"tags": prompts.load("client_tags.txt").splitlines()}
        elif self.kind == "follow_ups":
            asked = {_compact(u) for u in users}
            data = {"follow_ups": [q for q in prompts.load("client_follow_ups.txt").splitlines()
                                   if _compact(q) not in asked]}
        elif self.kind == "queries":
            data = {"queries": users[-1:]}
        else:
            data = {"text": ""}  # autocomplete: chidao does not guess what the officer will type
        return json.dumps(data, ensure_ascii=False)


def recognise(prompt: str) -> ClientTask | None:
    """The task a front end's prompt asks for, or None for an ordinary question."""
    gates, kinds = _table()
    compact = _compact(prompt)
    if not any(g in compact for g in gates):
        return None
    template = _compact(_HISTORY.sub("", prompt))
    for kind, signature in kinds:
        if signature in template:
            match = _HISTORY.search(prompt)
            return ClientTask(kind, parse_history(match.group(1) if match else ""))
    return None


def parse_history(block: str) -> tuple[tuple[str, str], ...]:
    """``USER: …`` / ``ASSISTANT: …`` lines (a message may span lines) as (role, text) pairs."""
    marks = list(_TURN.finditer(block))
    turns = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(block)
        turns.append((mark.group(1).lower(), block[mark.end():end].strip()))
    return tuple(turns)


def short_title(question: str) -> str:
    """A few words of the question: no trailing punctuation, at most TITLE_WORDS words."""
    words = _SPACE.sub(" ", question).strip().rstrip("?!.…:;,").split(" ")
    title = " ".join(words[:TITLE_WORDS])
    if len(title) > TITLE_CHARS:
        title = title[:TITLE_CHARS].rsplit(" ", 1)[0]
    if len(title) < len(" ".join(words)):
        title += "…"
    return title[:1].upper() + title[1:]
