"""How a channel is doing, for ``GET /api/status``: the last delivery, the last error (with the
provider's own code), and whatever the channel adds (Zalo: until when its token is valid)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds") if timestamp else None


class ChannelHealth:
    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._last_ok: float | None = None
        self._last_error: dict[str, Any] | None = None
        self.details: Callable[[], dict[str, Any]] = dict  # the channel's own fields

    def ok(self) -> None:
        with self._lock:
            self._last_ok = time.time()

    def error(self, message: str, code: int | str | None = None) -> None:
        with self._lock:
            self._last_error = {"at": iso(time.time()), "code": code, "message": message}

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            state = {"last_delivery": iso(self._last_ok), "last_error": self._last_error}
        return {**state, **self.details()}
