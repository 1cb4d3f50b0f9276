"""The optional language model: a LangChain chat model built from settings.

``LLM_PROVIDER`` picks it: ``none`` (no model; chidao answers extractively),
``openai-compatible`` (``langchain_openai.ChatOpenAI`` against any server that
speaks OpenAI's chat completions: vLLM, llama.cpp server, LM Studio, Ollama's
``/v1``, a hosted API) or ``ollama`` (``langchain_ollama.ChatOllama``, Ollama's
native API). The integration packages are optional and imported here only.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from bot.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

PROVIDERS = ("none", "openai-compatible", "ollama")
# One attempt: a failed or slow model falls back to the extractive answer at once
# rather than making the officer wait for retries.
MAX_RETRIES = 0


class LLMConfigError(RuntimeError):
    """The language model settings are incomplete or name a package that is not installed."""


def _import(module: str, package: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise LLMConfigError(
            f"LLM_PROVIDER cần gói '{package}' nhưng gói này chưa được cài. "
            f"Cài bằng: .venv/bin/pip install {package}  (hoặc: pip install -e '.[llm]')"
        ) from exc


def provider(settings: Settings) -> str:
    name = (settings.llm_provider or "none").strip().lower()
    if name not in PROVIDERS:
        raise LLMConfigError(
            f"LLM_PROVIDER='{settings.llm_provider}' không hợp lệ; chọn một trong: {', '.join(PROVIDERS)}"
        )
    return name


def build_chat_model(settings: Settings) -> BaseChatModel | None:
    """The chat model the settings describe, or ``None`` for ``LLM_PROVIDER=none``."""
    name = provider(settings)
    if name == "none":
        return None
    if not settings.llm_model:
        raise LLMConfigError(f"LLM_PROVIDER={name} cần LLM_MODEL (tên mô hình trên máy chủ mô hình).")
    if name == "openai-compatible":
        module = _import("langchain_openai", "langchain-openai")
        log.info("language model: %s at %s (openai-compatible)", settings.llm_model, settings.llm_base_url or "OpenAI")
        return module.ChatOpenAI(
            model=settings.llm_model,
            base_url=settings.llm_base_url,
            # Local servers (llama.cpp, vLLM, Ollama) take any key; the client insists on one.
            api_key=settings.llm_api_key or "not-needed",
            timeout=settings.llm_timeout,
            temperature=settings.llm_temperature,
            max_retries=MAX_RETRIES,
            # ChatOpenAI's own max_tokens is sent as "max_completion_tokens", which Ollama's /v1 and
            # LM Studio ignore; every OpenAI-compatible server reads "max_tokens" from the body.
            extra_body={"max_tokens": settings.llm_max_tokens},
        )
    module = _import("langchain_ollama", "langchain-ollama")
    base_url = settings.llm_base_url
    if base_url and base_url.rstrip("/").endswith("/v1"):
        # /v1 is Ollama's OpenAI-compatible API; ChatOllama speaks the native one at the root.
        base_url = base_url.rstrip("/")[: -len("/v1")]
    log.info("language model: %s at %s (ollama)", settings.llm_model, base_url or "the Ollama default")
    headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else None
    client_kwargs: dict[str, Any] = {"timeout": settings.llm_timeout}
    if headers:
        client_kwargs["headers"] = headers
    return module.ChatOllama(
        model=settings.llm_model,
        base_url=base_url,
        temperature=settings.llm_temperature,
        num_predict=settings.llm_max_tokens,
        client_kwargs=client_kwargs,
    )
