"""Follow-up questions rewritten by the language model (``prompts/contextualize.yaml``).

The conversation goes to the model as data, in the human message, between delimiters carrying a
random key; the rules of :mod:`bot.contextualize` answer when the model fails or rambles.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import prompts
from bot.contextualize import HISTORY_CHARS, Contextualizer, RuleContextualizer, TurnLike, recent_turns

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)

_SPEAKERS = {"user": "Cán bộ", "assistant": "Trợ lý"}
_LEAD = re.compile(r"^\s*(?:câu hỏi(?: độc lập| đã viết lại)?\s*:\s*)", re.IGNORECASE)
PROMPT = "contextualize.yaml"


class LLMContextualizer(Contextualizer):
    """Rewrites the question with the language model (``prompts/contextualize.yaml``); the rules
    when it fails or rambles. It reads the same bounded history as the rules."""

    def __init__(
        self,
        model: BaseChatModel,
        fallback: Contextualizer | None = None,
        max_chars: int = HISTORY_CHARS,
        max_turn_chars: int = 600,
    ) -> None:
        self.model = model
        self.fallback = fallback or RuleContextualizer(max_chars)
        self.max_chars = max_chars
        self.max_turn_chars = max_turn_chars

    def messages(self, message: str, history: Sequence[TurnLike]) -> list[BaseMessage]:
        from bot.llm_chain import chat_prompt, delimiter, prompt_spec

        tag = delimiter("hoi-thoai")
        template = prompts.load(prompt_spec(PROMPT)["turn_file"])
        lines = [
            template.format(speaker=_SPEAKERS.get(t.role, t.role), content=" ".join(t.content.split()).replace(tag, ""))
            for t in recent_turns(history, self.max_chars, self.max_turn_chars)
        ]
        return chat_prompt(PROMPT).invoke({"tag": tag, "history": "\n".join(lines), "question": message}).to_messages()

    def rewrite(self, message: str, history: Sequence[TurnLike]) -> str:
        if not history:
            return message
        try:
            reply = self.model.invoke(self.messages(message, history))
        except Exception as exc:  # the model is optional: the rules still resolve the question
            log.warning("language model could not rewrite the question, using rules: %s", str(exc)[:200])
            return self.fallback.rewrite(message, history)
        text = reply.text if isinstance(reply.text, str) else str(reply.content)
        lines = [line for line in text.strip().splitlines() if line.strip()]
        rewritten = _LEAD.sub("", lines[0]).strip().strip("\"'“”*`").strip() if lines else ""
        if not rewritten or len(rewritten) > max(300, 4 * len(message)):
            log.info("language model rewrite unusable (%d chars), using rules", len(rewritten))
            return self.fallback.rewrite(message, history)
        log.debug("follow-up %r rewritten as %r", message, rewritten)
        return rewritten
