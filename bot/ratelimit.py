"""Per-client rate limiting of the chat routes (``CHIDAO_RATE_LIMIT`` requests a minute; 0 = off).

A token bucket per client address: a client may send ``limit`` questions at once, then one more
each ``60 / limit`` seconds. Over it: 429 with ``Retry-After`` (whole seconds), answered before
the body is read. The client address is the one uvicorn reports (behind a reverse proxy on the
same host, the ``X-Forwarded-For`` it trusts).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from bot.settings import Settings

LIMITED_PATHS = ("/api/chat", "/v1/chat/completions")
MAX_CLIENTS = 10_000  # buckets kept; idle full ones are dropped first when there are more


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """``limit`` requests a minute per key, with a burst of ``limit``."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.rate = limit / 60.0  # tokens a second
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """0 when the request may go ahead; else the seconds to wait before the next one will."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_CLIENTS:
                    self._prune(now)
                bucket = self._buckets[key] = _Bucket(float(self.limit), now)
            bucket.tokens = min(float(self.limit), bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def _prune(self, now: float) -> None:
        """Forget clients whose bucket has refilled (they lose nothing), else the oldest half."""
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.at) * self.rate >= self.limit]
        for key in full or sorted(self._buckets, key=lambda k: self._buckets[k].at)[: len(self._buckets) // 2]:
            del self._buckets[key]


def client_key(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def too_many(wait: float) -> JSONResponse:
    """429 (on /v1, bot.routes.openai_errors gives it OpenAI's shape, Retry-After kept)."""
    seconds = max(1, math.ceil(wait))
    return JSONResponse({"detail": f"Quá nhiều yêu cầu: vui lòng thử lại sau {seconds} giây."}, status_code=429,
                        headers={"Retry-After": str(seconds)})


class RateLimitMiddleware:
    def __init__(self, app: Any, limiter: RateLimiter, paths: tuple[str, ...] = LIMITED_PATHS) -> None:
        self.app = app
        self.limiter = limiter
        self.paths = paths

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and scope.get("method") == "POST" and path in self.paths:
            wait = self.limiter.acquire(client_key(scope))
            if wait > 0:
                await too_many(wait)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """Limit the chat routes when ``settings.rate_limit`` > 0; the limiter is ``app.state.rate_limiter``."""
    app.state.rate_limiter = None
    if settings.rate_limit > 0:
        app.state.rate_limiter = RateLimiter(settings.rate_limit)
        app.add_middleware(RateLimitMiddleware, limiter=app.state.rate_limiter)
