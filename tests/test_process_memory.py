"""A serving process limits glibc's malloc arenas for itself and its children, unless the operator chose."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

# Eight threads each allocate (bytearrays past pymalloc's 512 bytes go to malloc), then the process
# prints how many arenas (heaps) glibc made and what its children would read.
ARENAS_AFTER_THREADS = """
import ctypes, os, sys, tempfile, threading
if sys.argv[1] == "limit":
    from bot.process_memory import limit_malloc_arenas
    print(limit_malloc_arenas())
barrier = threading.Barrier(8)
def work():
    barrier.wait()
    kept = [bytearray(2000) for _ in range(200)]
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL("libc.so.6")
libc.fopen.restype = ctypes.c_void_p
fd, path = tempfile.mkstemp(); os.close(fd)
out = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(out))
libc.fclose(ctypes.c_void_p(out))
print(open(path).read().count("<heap nr="), os.environ.get("MALLOC_ARENA_MAX"))
os.unlink(path)
"""


def arenas(mode: str, **env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    out = subprocess.run([sys.executable, "-c", ARENAS_AFTER_THREADS, mode], capture_output=True, text=True,
                         cwd=ROOT, env={**clean, **env}, check=True)
    return out.stdout.split()


def test_a_serving_process_keeps_two_malloc_arenas_and_hands_the_limit_to_its_children():
    heaps, inherited = arenas("default")  # glibc: an arena per allocating thread (up to 8 per core)
    assert int(heaps) > 2 and inherited == "None"
    assert arenas("limit") == ["True", "2", "2"]


def test_the_operators_malloc_arena_max_wins():
    assert arenas("limit", MALLOC_ARENA_MAX="3") == ["False", "3", "3"]
