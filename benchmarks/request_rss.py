"""What one hostile request costs the server in memory: its RSS rise while the request is served.

    python benchmarks/request_rss.py --data-dir DIR        # DIR already ingested

The server runs with a read key, an admin key and Zalo configured (so the webhook reads bodies).
Each case sends its body from a repeated block (the client holds a few KB) until the server
answers; a sampler reads the server's VmRSS every 5 ms. Target (issue 15): no single
unauthenticated request raises the server's RSS by more than 50 MB.
"""

from __future__ import annotations

import argparse
import functools
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import common

MIB = 1024 * 1024
KEYS = {"CHIDAO_READ_KEY": "khoa-doc", "CHIDAO_ADMIN_KEY": "khoa-quan-tri", "ZALO_APP_ID": "1",
        "ZALO_OA_SECRET": "bi-mat", "ZALO_ACCESS_TOKEN": "t", "ZALO_API_BASE": "http://127.0.0.1:9",
        "CHIDAO_RATE_LIMIT": "0"}
BOUNDARY = "chidao-rss"
BLOCK = 64 * 1024


def _multipart_head(name: str) -> bytes:
    return (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: text/plain\r\n\r\n").encode()


def _objects(n: int) -> bytes:
    """A JSON body of ``n`` bytes made of many small objects (the costliest thing to parse per byte)."""
    head = b'{"message": "x", "history": ['
    items = b"{}," * ((n - len(head) - 3) // 3)
    return head + items + b"{}]}"


# (label, request head lines, body head, body filler, body size, chunked)
CASES: list[tuple[str, str, bytes, bytes, int, bool]] = [
    ("chat 200 MB, no key, Content-Length", "POST /api/chat\r\nContent-Type: application/json",
     b'{"message": "', b"x", 200 * MIB, False),
    ("chat 200 MB, no key, chunked", "POST /api/chat\r\nContent-Type: application/json",
     b'{"message": "', b"x", 200 * MIB, True),
    ("chat 1 MB of {} objects, no key", "POST /api/chat\r\nContent-Type: application/json",
     _objects(MIB - 64), b"", MIB - 64, False),
    ("zalo 200 MB unsigned, Content-Length", "POST /webhooks/zalo\r\nContent-Type: application/json",
     b"[", b"[", 200 * MIB, False),
    ("zalo 200 MB unsigned, chunked", "POST /webhooks/zalo\r\nContent-Type: application/json",
     b"[", b"[", 200 * MIB, True),
    ("upload 200 MB, no key", f"POST /api/documents\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}",
     _multipart_head("lon.txt"), b"x", 200 * MIB, False),
    ("upload 200 MB, admin key (limit 25 MB)",
     f"POST /api/documents\r\nX-API-Key: khoa-quan-tri\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}",
     _multipart_head("lon.txt"), b"x", 200 * MIB, False),
    ("deadlines 0001-9999, read key", "GET /api/deadlines?format=json&from=0001-01-01&to=9999-12-31\r\n"
     "X-API-Key: khoa-doc", b"", b"", 0, False),
]


def send(port: int, request: str, head: bytes, filler: bytes, size: int, chunked: bool) -> tuple[str, int]:
    """Send until the server answers; its status line and the body bytes sent by then."""
    method_path, _, headers = request.partition("\r\n")
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    lines = [f"{method_path} HTTP/1.1", "Host: x", *([headers] if headers else []), framing, "", ""]
    block = (filler * (BLOCK // max(1, len(filler)) + 1))[:BLOCK] if filler else b""

    def frame(data: bytes) -> bytes:
        return b"%x\r\n%s\r\n" % (len(data), data) if chunked else data

    left, sent, reply = size - len(head), 0, b""
    pending = memoryview("\r\n".join(lines).encode() + (frame(head) if head else b""))
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.setblocking(False)
        while not reply:
            if not pending and left > 0 and block:
                piece = block[: min(BLOCK, left)]
                left, sent = left - len(piece), sent + len(piece)
                pending = memoryview(frame(piece))
            try:
                if pending:
                    pending = pending[sock.send(pending):]
            except BlockingIOError:
                pass
            except OSError:  # the server answered and closed while we were still sending
                break
            try:
                reply = sock.recv(4096)
            except BlockingIOError:
                time.sleep(0 if pending else 0.01)
        sock.setblocking(True)
        reply = reply or sock.recv(4096)
    return reply.split(b"\r\n", 1)[0].decode(errors="replace"), sent + len(head)


def measured(pid: int, action: Callable[[], tuple[str, int]]) -> tuple[str, int, float, float]:
    """Run ``action`` while sampling the server's RSS; (status, sent, RSS before, peak rise)."""
    before = common.process_rss_mib(pid) or 0.0
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], common.process_rss_mib(pid) or 0.0)
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        status, sent = action()
        time.sleep(0.2)  # what the server does right after answering counts too
    finally:
        done.set()
        sampler.join()
    return status, sent, before, peak[0] - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="an already ingested data directory")
    args = parser.parse_args()
    os.environ.update(KEYS)
    worst = 0.0
    with common.served(args.data_dir) as (url, server):
        port = int(url.rsplit(":", 1)[1])
        for label, *case in CASES:
            status, sent, before, rise = measured(server.pid, functools.partial(send, port, *case))
            worst = max(worst, rise) if "admin" not in label else worst
            print(f"{label:44} -> {status[9:] or '(closed)':32} sent {sent / MIB:7.1f} MB  "
                  f"server RSS {before:6.0f} MiB, peak rise {rise:+6.1f} MiB", flush=True)
    print(f"largest rise for an unauthenticated request: {worst:+.1f} MiB (target: at most +50 MiB)")


if __name__ == "__main__":
    main()
