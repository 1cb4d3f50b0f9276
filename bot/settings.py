"""All configuration in one object, read from the environment and ``.env``.

Built once by the entry points (CLI, app factory) and passed down; nothing
reads the environment anywhere else.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "chidao"


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(default_factory=default_data_dir, validation_alias=_env("CHIDAO_DATA_DIR"))
    admin_key: str | None = Field(default=None, validation_alias=_env("CHIDAO_ADMIN_KEY"))
    read_key: str | None = Field(default=None, validation_alias=_env("CHIDAO_READ_KEY"))

    # retrieval
    embedder: str = Field(default="e5-onnx", validation_alias=_env("CHIDAO_EMBEDDER"))
    embedding_model: str | None = Field(default=None, validation_alias=_env("CHIDAO_EMBEDDING_MODEL"))
    device: Literal["auto", "cpu", "cuda"] = Field(default="auto", validation_alias=_env("CHIDAO_DEVICE"))
    # where the bundled e5 is exported once; None: $XDG_CACHE_HOME/chidao/models (~/.cache/chidao/models)
    model_dir: Path | None = Field(default=None, validation_alias=_env("CHIDAO_MODEL_DIR"))
    # passage vectors kept by text: "" = DATA_DIR/embed-cache.sqlite3, "off" = none, else a file to share
    embed_cache: str = Field(default="", validation_alias=_env("CHIDAO_EMBED_CACHE"))
    chroma_url: str | None = Field(default=None, validation_alias=_env("CHIDAO_CHROMA_URL"))
    chunk_tokens: int = Field(default=400, ge=64, le=420, validation_alias=_env("CHIDAO_CHUNK_TOKENS"))
    fusion: str = Field(default="score", validation_alias=_env("CHIDAO_FUSION"))
    lexical_weight: float = Field(default=0.7, ge=0.0, le=1.0, validation_alias=_env("CHIDAO_LEXICAL_WEIGHT"))
    heading_weight: float = Field(default=0.3, ge=0.0, le=2.0, validation_alias=_env("CHIDAO_HEADING_WEIGHT"))
    min_coverage: float = Field(default=0.6, ge=0.0, le=1.0, validation_alias=_env("CHIDAO_MIN_COVERAGE"))
    # follow-ups: how much of the conversation (most recent turns first) is read to resolve one
    history_chars: int = Field(default=6000, ge=200, le=200_000, validation_alias=_env("CHIDAO_HISTORY_CHARS"))

    # server
    host: str = Field(default="127.0.0.1", validation_alias=_env("CHIDAO_HOST"))
    port: int = Field(default=8000, validation_alias=_env("CHIDAO_PORT"))
    upload_limit_mb: float = Field(default=25.0, gt=0, validation_alias=_env("CHIDAO_UPLOAD_LIMIT_MB"))
    rate_limit: int = Field(default=60, ge=0, validation_alias=_env("CHIDAO_RATE_LIMIT"))
    api_docs: bool = Field(default=True, validation_alias=_env("CHIDAO_API_DOCS"))
    shutdown_timeout: float = Field(default=3.0, gt=0, le=60, validation_alias=_env("CHIDAO_SHUTDOWN_TIMEOUT"))
    cors_origins: str = Field(default="", validation_alias=_env("CHIDAO_CORS_ORIGINS"))
    sse_keepalive: float = Field(default=15.0, gt=0, validation_alias=_env("CHIDAO_SSE_KEEPALIVE"))

    # messaging channels
    telegram_bot_token: str | None = Field(default=None, validation_alias=_env("TELEGRAM_BOT_TOKEN"))
    telegram_webhook_secret: str | None = Field(default=None, validation_alias=_env("TELEGRAM_WEBHOOK_SECRET"))
    telegram_api_base: str = Field(default="https://api.telegram.org", validation_alias=_env("TELEGRAM_API_BASE"))
    zalo_app_id: str | None = Field(default=None, validation_alias=_env("ZALO_APP_ID"))
    zalo_oa_secret: str | None = Field(default=None, validation_alias=_env("ZALO_OA_SECRET"))
    zalo_access_token: str | None = Field(default=None, validation_alias=_env("ZALO_ACCESS_TOKEN"))
    zalo_api_base: str = Field(default="https://openapi.zalo.me", validation_alias=_env("ZALO_API_BASE"))
    zalo_refresh_token: str | None = Field(default=None, validation_alias=_env("ZALO_REFRESH_TOKEN"))
    zalo_app_secret: str | None = Field(default=None, validation_alias=_env("ZALO_APP_SECRET"))
    zalo_oauth_base: str = Field(default="https://oauth.zaloapp.com", validation_alias=_env("ZALO_OAUTH_BASE"))
    zalo_event_max_age: float = Field(default=3 * 3600, gt=0, validation_alias=_env("ZALO_EVENT_MAX_AGE"))
    zalo_bot_token: str | None = Field(default=None, validation_alias=_env("ZALO_BOT_TOKEN"))
    zalo_bot_webhook_secret: str | None = Field(default=None, validation_alias=_env("ZALO_BOT_WEBHOOK_SECRET"))
    zalo_bot_api_base: str = Field(default="https://bot-api.zaloplatforms.com",
                                   validation_alias=_env("ZALO_BOT_API_BASE"))
    channel_workers: int = Field(default=2, ge=1, le=32, validation_alias=_env("CHIDAO_CHANNEL_WORKERS"))

    # optional language model
    llm_provider: str = Field(default="none", validation_alias=_env("LLM_PROVIDER"))
    llm_base_url: str | None = Field(default=None, validation_alias=_env("LLM_BASE_URL"))
    llm_model: str | None = Field(default=None, validation_alias=_env("LLM_MODEL"))
    llm_api_key: str | None = Field(default=None, validation_alias=_env("LLM_API_KEY"))
    # LLM_TIMEOUT bounds one call to the model and a streamed answer as a whole (seconds); past it the
    # extractive answer is given. LLM_MAX_TOKENS caps the length of the model's answer.
    llm_timeout: float = Field(default=60.0, gt=0, validation_alias=_env("LLM_TIMEOUT"))
    llm_max_tokens: int = Field(default=800, ge=16, le=32768, validation_alias=_env("LLM_MAX_TOKENS"))
    llm_temperature: float = Field(default=0.1, ge=0, le=2, validation_alias=_env("LLM_TEMPERATURE"))

    @property
    def embed_cache_path(self) -> Path | None:
        value = self.embed_cache.strip()
        if value.lower() in ("off", "none", "0", "false"):
            return None
        return Path(value).expanduser() if value else self.data_dir / "embed-cache.sqlite3"

    @property
    def upload_limit_bytes(self) -> int:
        return int(self.upload_limit_mb * 1024 * 1024)

    @property
    def cors_origin_list(self) -> list[str]:
        """``CHIDAO_CORS_ORIGINS`` split on commas; empty means no cross-origin access."""
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]
