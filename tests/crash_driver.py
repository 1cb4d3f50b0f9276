"""Run ``chidao ingest`` with a fault at a named point: the process SIGKILLs itself there.

    python tests/crash_driver.py POINT ingest FILE --data-dir DIR

Each point is a function in ``POINTS`` that patches the store so that the process dies
exactly there; add a point by adding one such function. Exit code 3: the point was never
reached (the test then fails: the fault did not happen).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vectorstore.store import Store  # noqa: E402


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class DieAfter:
    """A Chroma collection whose ``method`` dies after its ``nth`` call has returned."""

    def __init__(self, collection: Any, method: str, nth: int = 1) -> None:
        self._collection, self._method, self._nth, self._calls = collection, method, nth, 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._collection, name)
        if name != self._method:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            self._calls += 1
            if self._calls == self._nth:
                die()
            return result

        return call


def _on_open(patch: Callable[[Store], None]) -> None:
    init = Store.__init__

    def patched(self: Store, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        patch(self)

    Store.__init__ = patched  # type: ignore[method-assign]


def _die_after(method: str) -> None:
    original = getattr(Store, method)

    def patched(self: Store, *args: Any, **kwargs: Any) -> Any:
        original(self, *args, **kwargs)
        die()

    setattr(Store, method, patched)


def mid_batch() -> None:
    """Chunks written two at a time; killed after the first batch, the others never written."""
    def patch(store: Store) -> None:
        store._batch = 2
        store._chunks = DieAfter(store._chunks, "upsert")

    _on_open(patch)


def after_chunks() -> None:
    _die_after("put_chunks")


def after_tasks() -> None:
    _die_after("put_tasks")


def after_flip() -> None:
    """The registry names the new version; the old version's chunks are not deleted yet."""
    _on_open(lambda store: setattr(store, "_docs", DieAfter(store._docs, "upsert")))


POINTS: dict[str, Callable[[], None]] = {
    "mid-batch": mid_batch,
    "after-chunks": after_chunks,
    "after-tasks": after_tasks,
    "after-flip": after_flip,
}
BEFORE_FLIP = ("mid-batch", "after-chunks", "after-tasks")  # the previous version is still the live one


def main() -> None:
    point, args = sys.argv[1], sys.argv[2:]
    POINTS[point]()
    from bot.cli import main as chidao

    try:
        chidao(args, standalone_mode=False)
    finally:
        os._exit(3)  # still alive: the fault was never reached


if __name__ == "__main__":
    main()
