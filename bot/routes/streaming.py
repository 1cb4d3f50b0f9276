"""Server-Sent Events that stay alive while the answer is slow to come.

An answer stream can be silent for a long time: the model reads the passages before its first
token, or a follow-up is rewritten first. Proxies and browsers drop connections that carry
nothing. :func:`keep_alive` runs the blocking event iterator one step at a time in the thread
pool, as Starlette would, and sends an SSE comment (``: keep-alive``) whenever no event has come
for ``interval`` seconds. Clients ignore comments (the SSE specification, OpenAI's clients, the
web chat).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi.concurrency import run_in_threadpool

KEEP_ALIVE = ": keep-alive\n\n"
_END = object()


def _next(iterator: Iterator[str]) -> Any:
    return next(iterator, _END)


async def keep_alive(lines: Iterator[str], interval: float) -> AsyncIterator[str]:
    """``lines`` as they come, with a keep-alive comment after each ``interval`` of silence."""
    iterator = iter(lines)
    step: asyncio.Future[Any] | None = None
    try:
        while True:
            step = asyncio.ensure_future(run_in_threadpool(_next, iterator))
            while not (await asyncio.wait({step}, timeout=interval))[0]:
                yield KEEP_ALIVE
            item = step.result()
            if item is _END:
                return
            yield item
    finally:
        _close_after(step, iterator)


def _close_after(step: asyncio.Future[Any] | None, iterator: Iterator[str]) -> None:
    """Close the event iterator (its ``finally`` blocks free the model's connection) once its
    current step is over; never waits, so a client that left does not hold the loop."""
    close = getattr(iterator, "close", None)

    def done(future: asyncio.Future[Any] | None) -> None:
        if future is not None and not future.cancelled():
            future.exception()  # retrieved: a failure after the client left is nobody's to report
        if close is not None:
            try:
                asyncio.get_running_loop().run_in_executor(None, close)
            except RuntimeError:  # no running loop any more (shutdown): close here
                close()

    if step is None or step.done():
        done(step)
    else:
        step.add_done_callback(done)
