"""The LangChain pieces of the language-model path.

- :func:`chat_prompt`: a ``ChatPromptTemplate`` from a prompt file in ``prompts/`` (``*.yaml``
  naming each message's role and template file); a system message may take no variables.
- :func:`passages_block`: the passages as data, each between delimiters carrying a random key
  (a document cannot forge the closing tag), for the human message only.
- :func:`draft_chain`: request -> prompt -> model -> text, as Runnables.
- :func:`retrieval`: a step that fills in passages from a LangChain ``BaseRetriever`` when the
  request has none (the service normally retrieves and hands them over).
"""

from __future__ import annotations

import secrets
from datetime import date
from functools import cache
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any

import prompts
from vectorstore.records import DocumentRecord, StoredChunk
from vectorstore.retriever import Passage

if TYPE_CHECKING:
    from langchain_core.documents import Document
    from langchain_core.language_models import BaseChatModel
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.retrievers import BaseRetriever
    from langchain_core.runnables import Runnable


class PromptFileError(ValueError):
    """A prompt file names variables its template does not use, or puts variables in the system role."""


@cache
def prompt_spec(name: str) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(prompts.load(name))


@cache
def chat_prompt(name: str) -> ChatPromptTemplate:
    """The chat prompt ``prompts/<name>`` describes."""
    from langchain_core.prompts import ChatPromptTemplate

    spec = prompt_spec(name)
    messages = [(m["role"], prompts.load(m["template_file"])) for m in spec["messages"]]
    prompt = ChatPromptTemplate.from_messages(messages)
    if set(prompt.input_variables) != set(spec["input_variables"]):
        raise PromptFileError(f"{name}: the templates use {sorted(prompt.input_variables)}, "
                              f"the file declares {sorted(spec['input_variables'])}")
    for (role, _), template in zip(messages, prompt.messages):
        if role == "system" and getattr(template, "input_variables", []):
            raise PromptFileError(f"{name}: the system message may take no variables")
    return prompt


def delimiter(prefix: str) -> str:
    """A fresh tag for one request's data blocks."""
    return f"{prefix}-{secrets.token_hex(4)}"


def vietnamese_date(iso: str) -> str:
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def passage_fields(passage: Passage) -> dict[str, str]:
    """What the model is shown of a passage, and so what may support a sentence citing it."""
    doc = passage.document
    return {
        "label": doc.label, "title": doc.title, "date": vietnamese_date(doc.date) if doc.date else "",
        "issuer": doc.issuer, "section": passage.chunk.section or "—", "text": passage.chunk.text,
    }


def evidence_texts(passage: Passage) -> list[str]:
    return [v for v in passage_fields(passage).values() if v]


def passages_block(passages: list[Passage], tag: str, template: str) -> str:
    blocks = []
    for n, passage in enumerate(passages, 1):
        f = {k: v.replace(tag, "doan") for k, v in passage_fields(passage).items()}
        date_text = f" (ngày {f['date']})" if f["date"] else ""
        issuer = f"; cơ quan ban hành: {f['issuer']}" if f["issuer"] else ""
        blocks.append(template.format(tag=tag, n=n, label=f["label"], title=f["title"], date=date_text,
                                      issuer=issuer, section=f["section"], text=f["text"]))
    return "\n\n".join(blocks)


ANSWER_PROMPT = "llm_answer.yaml"


def answer_variables(request: dict[str, Any]) -> dict[str, str]:
    """The prompt's variables for ``{"question": Question, "passages": [Passage]}``."""
    tag = delimiter("doan")
    template = prompts.load(prompt_spec(ANSWER_PROMPT)["passage_file"])
    return {"tag": tag, "passages": passages_block(request["passages"], tag, template),
            "question": request["question"].text}


def draft_chain(model: BaseChatModel) -> Runnable[dict[str, Any], str]:
    """Request -> prompt -> model -> the model's text."""
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.runnables import RunnableLambda

    return RunnableLambda(answer_variables) | chat_prompt(ANSWER_PROMPT) | model | StrOutputParser()


def document_passage(document: Document) -> Passage:
    """A passage from a document of :class:`vectorstore.langchain_retriever.LangChainRetriever`."""
    meta = document.metadata
    chunk = StoredChunk(meta.get("chunk_id") or document.id or "", meta.get("document_id", ""), "",
                        document.page_content, meta.get("section", ""), tuple(meta.get("headings") or ()),
                        page=meta.get("page"))
    doc = DocumentRecord(meta.get("document_id", ""), meta.get("source", ""), "", title=meta.get("title", ""),
                         doc_number=meta.get("doc_number", ""), doc_type=meta.get("doc_type", ""),
                         date=meta.get("date", ""))
    return Passage(chunk, doc, float(meta.get("score") or 0.0))


def retrieval(retriever: BaseRetriever | None) -> Runnable[dict[str, Any], dict[str, Any]]:
    """Fills in ``passages`` with what ``retriever`` finds for the question, when the request has none."""
    from langchain_core.runnables import RunnableBranch, RunnableLambda, RunnablePassthrough

    if retriever is None:
        return RunnablePassthrough()
    find = itemgetter("question") | RunnableLambda(attrgetter("text")) | retriever | RunnableLambda(
        lambda documents: [document_passage(d) for d in documents])
    return RunnableBranch(
        (lambda request: request.get("passages") is not None, RunnablePassthrough()),
        RunnablePassthrough.assign(passages=find),
    )
