"""glibc's malloc arenas for a serving process and the processes it starts.

glibc gives a thread that allocates an arena of its own, up to 8 per core, and an arena keeps what its
thread has freed. A server's threads (requests, the query graph's open, the task list read ahead)
each left theirs holding memory: ``chidao serve``'s peak RSS at 100k passages was 972-983 MiB with
glibc's default and 891-902 MiB with two arenas, searches no slower (``benchmarks/scale_100k.py
--phase http`` alternating, README).
"""

from __future__ import annotations

import ctypes
import os

from vectorstore.chroma_server import SIDECAR_ARENAS

ARENAS = int(SIDECAR_ARENAS)  # the same limit as ``chidao serve``'s Chroma sidecar
M_ARENA_MAX = -8  # mallopt's parameter (malloc.h)


def limit_malloc_arenas() -> bool:
    """Two arenas for this process (from now on: call it before threads start) and, through
    ``MALLOC_ARENA_MAX``, for its children (uvicorn's workers, the Chroma sidecar). An operator's
    ``MALLOC_ARENA_MAX`` wins. True when this process's limit was set."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    os.environ["MALLOC_ARENA_MAX"] = str(ARENAS)
    try:
        return ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, ARENAS) == 1
    except (OSError, AttributeError):  # not glibc
        return False
