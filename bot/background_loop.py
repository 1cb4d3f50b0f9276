"""One event loop on a daemon thread, where every asynchronous language-model call runs.

The answer is produced by an async generator (LangChain's ``astream``). Synchronous callers (the
CLI, the messaging channels) iterate it with :meth:`BackgroundLoop.iterate`; asynchronous callers
on another loop (the HTTP server) with :meth:`BackgroundLoop.aiterate`. Either way the generator
runs on this one loop, so the model client's pooled connections never cross event loops, and a
caller that stops reading (a client that left) cancels the work.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")
_ITEM, _ERROR, _DONE = "item", "error", "done"


class BackgroundLoop:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop, started on first use."""
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="chidao-model-loop", daemon=True).start()
                self._loop = loop
            return self._loop

    def iterate(self, make: Callable[[], AsyncIterator[T]]) -> Iterator[T]:
        """The items of ``make()`` for synchronous code."""
        items: queue.Queue[tuple[str, Any]] = queue.Queue()
        future = asyncio.run_coroutine_threadsafe(_pump(make, items.put), self.loop())
        try:
            while True:
                kind, value = items.get()
                if kind == _DONE:
                    return
                if kind == _ERROR:
                    raise value
                yield value
        finally:
            future.cancel()

    async def aiterate(self, make: Callable[[], AsyncIterator[T]]) -> AsyncIterator[T]:
        """The items of ``make()`` for a coroutine running on another event loop."""
        caller = asyncio.get_running_loop()
        items: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def put(item: tuple[str, Any]) -> None:
            try:
                caller.call_soon_threadsafe(items.put_nowait, item)
            except RuntimeError:  # the caller's loop is closed: nobody is reading
                pass

        future = asyncio.run_coroutine_threadsafe(_pump(make, put), self.loop())
        try:
            while True:
                kind, value = await items.get()
                if kind == _DONE:
                    return
                if kind == _ERROR:
                    raise value
                yield value
        finally:
            future.cancel()


async def _pump(make: Callable[[], AsyncIterator[Any]], put: Callable[[tuple[str, Any]], None]) -> None:
    stream = make()
    try:
        async for item in stream:
            put((_ITEM, item))
    except Exception as exc:  # handed to the reader, who raises it
        put((_ERROR, exc))
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
        put((_DONE, None))


@cache
def background_loop() -> BackgroundLoop:
    """The process's one model loop (its thread starts on first use, not here)."""
    return BackgroundLoop()
