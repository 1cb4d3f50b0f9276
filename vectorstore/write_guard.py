"""What guards the store's writes: one ingest writes at a time, and a failed write is named.

:class:`IngestLock` serialises the write-and-commit step of ingests (threads of one process,
and processes sharing a data directory), so that two ingests of one document never both
decide they are adding it, and garbage collection never deletes the chunks an ingest has
written but not yet committed. :func:`describe_write_error` turns a store failure into the
Vietnamese reason an operator reads, naming a full disk when that is the cause.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

LOW_SPACE = 64 * 1024 * 1024  # below this, a store write failure is put down to the disk
_FULL_WORDS = ("no space left", "disk is full", "disk full", "quota exceeded")


class IngestLock:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path  # a lock file in the data directory; None: this process only
        self._thread_lock = threading.Lock()

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._thread_lock:
            if self.path is None:
                yield
                return
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:  # e.g. no room for the lock file: this process is still serialised
                log.warning("no ingest lock file at %s (%s); locking this process only", self.path, exc)
                yield
                return
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the lock


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def free_bytes(path: Path | None) -> int | None:
    if path is None:
        return None
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def is_disk_full(exc: BaseException, data_dir: Path | None = None) -> bool:
    """The error says the disk is full, or the data directory has (almost) no space left."""
    for cause in _causes(exc):
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(word in str(cause).lower() for word in _FULL_WORDS):
            return True
    free = free_bytes(data_dir)
    return free is not None and free < LOW_SPACE


def describe_write_error(exc: BaseException, data_dir: Path | None = None) -> str:
    """Why the store could not take a document, in Vietnamese; the previous state is kept."""
    kept = "văn bản cũ (nếu có) vẫn giữ nguyên và vẫn tra cứu được"
    if is_disk_full(exc, data_dir):
        free = free_bytes(data_dir)
        where = f" (còn trống {free / 2**20:.1f} MB tại {data_dir})" if free is not None else ""
        return (f"không ghi được vào kho dữ liệu: ổ đĩa đầy{where}. Hãy giải phóng dung lượng rồi nạp lại; "
                f"{kept}.")
    return f"không ghi được vào kho dữ liệu ({type(exc).__name__}: {exc}); {kept}."
