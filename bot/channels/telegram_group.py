"""Which group messages are for the bot, and the question they ask.

With privacy mode on (the default), Telegram delivers to a bot in a group only commands,
replies to it and messages that mention it; with it off, everything. Either way the bot
answers only: its own commands (``/hoi …``, ``/start``, ``/help``, bare or as
``/cmd@its_name``), messages that mention it (``@its_name …``, the mention removed before
the question is searched), and replies to its own messages. ``/cmd@another_bot`` is never
ours. Entity offsets are in UTF-16 code units (https://core.telegram.org/bots/api#messageentity).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from bot.channels.base import COMMANDS, HELP, Entity, Inbound, Request, parse_command, plain_request

_LEADING = " \t\n,.:;-–—"
_SPACES = re.compile(r"[ \t]{2,}")


def utf16_slice(text: str, offset: int, length: int) -> str:
    units = text.encode("utf-16-le")
    return units[2 * offset:2 * (offset + length)].decode("utf-16-le", errors="ignore")


def without(text: str, spans: Iterable[Entity]) -> str:
    """``text`` with the given entities cut out."""
    units = text.encode("utf-16-le")
    for e in sorted(spans, key=lambda e: e.offset, reverse=True):
        units = units[:2 * e.offset] + units[2 * (e.offset + e.length):]
    return _SPACES.sub(" ", units.decode("utf-16-le", errors="ignore")).lstrip(_LEADING).strip()


def mentions_of(inbound: Inbound, me: dict[str, Any]) -> list[Entity]:
    """The entities of ``inbound`` that name the bot: ``@username``, or a mention of its user id."""
    username = "@" + str(me.get("username") or "").lower()
    bot_id = str(me["id"])
    text = inbound.text or ""
    return [e for e in inbound.entities
            if (e.kind == "mention" and utf16_slice(text, e.offset, e.length).lower() == username)
            or (e.kind == "text_mention" and e.user_id == bot_id)]


def needs_identity(inbound: Inbound) -> bool:
    """Whether reading ``inbound`` needs the bot's own name (getMe)."""
    text = (inbound.text or "").lstrip()
    command = parse_command(text)
    return inbound.group or any(e.kind in ("mention", "text_mention") for e in inbound.entities) or bool(
        command and command[1])


def read_addressed(inbound: Inbound, me: dict[str, Any]) -> Request | None:
    """How ``inbound`` reads for the bot ``me`` (getMe's user); None when it is not for the bot."""
    text = inbound.text
    if text is None or not text.strip():
        return None if inbound.group else Request("unreadable")
    command = parse_command(text.strip())
    if command is not None:
        name, target, rest = command
        if target is not None and target.lower() != str(me.get("username") or "").lower():
            return None  # /cmd@another_bot
        if inbound.group and target is None and name not in COMMANDS:
            return None  # a bare command another bot in the group may own
        return Request("command", rest, name)
    mentions = mentions_of(inbound, me)
    if not inbound.group:
        return plain_request(without(text, mentions))
    if not mentions and inbound.reply_to_sender != str(me["id"]):
        return None
    question = without(text, mentions)
    return Request("question", question) if question else Request("command", "", HELP)
