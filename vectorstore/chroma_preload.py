"""Have a Chroma server load collections' vector indexes now: ``python -m vectorstore.chroma_preload URL NAME...``.

Chroma loads a collection's vector index at its first search (0.4 s at 100k passages, 1.2 s from a
cold page cache). ``ChromaServer.launch(preload=...)`` runs this in a small process of its own as the
server starts, so that a starting ``chidao serve`` finds the index in memory once it has loaded its
modules. A process, not a thread: done from a thread of ``chidao serve`` it raised that process's peak
memory at 100k passages from 822-841 MiB to 942-967 MiB (``benchmarks/scale_100k.py --phase http``;
an early thread changes which malloc arena the later threads get). Standard library only (it starts in ~50 ms).
Prints one JSON object: each collection -> "loaded", "empty", "absent" (no such collection) or
"failed: ..."; waits up to ``TIMEOUT`` seconds for the server to answer.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request

# Chroma's HTTP API (v2): the collections of the default tenant and database, where chidao keeps its own
COLLECTIONS = "/api/v2/tenants/default_tenant/databases/default_database/collections"
TIMEOUT = 120.0


def call(url: str, body: dict | None = None, timeout: float = TIMEOUT) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"{}")


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether the Chroma server at ``url`` answers its heartbeat."""
    try:
        call(url + "/api/v2/heartbeat", timeout=timeout)
        return True
    except (OSError, ValueError):  # refused, timed out, or an HTTP error status (urllib's HTTPError)
        return False


def load_vector_index(url: str, name: str) -> str:
    """Search collection ``name`` once with a vector it holds: the server loads its index to answer."""
    try:
        collection = f"{url}{COLLECTIONS}/{call(f'{url}{COLLECTIONS}/{name}')['id']}"
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return "absent"
        raise
    vectors = call(f"{collection}/get", {"limit": 1, "include": ["embeddings"]}).get("embeddings") or []
    if not vectors:
        return "empty"
    call(f"{collection}/query", {"query_embeddings": vectors[:1], "n_results": 1, "include": ["distances"]})
    return "loaded"


def preload(url: str, names: list[str]) -> dict[str, str]:
    deadline = time.monotonic() + TIMEOUT
    while not answers(url):
        if time.monotonic() > deadline:
            return {name: "failed: the server did not answer" for name in names}
        time.sleep(0.02)
    done = {}
    for name in names:
        try:
            done[name] = load_vector_index(url, name)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            done[name] = f"failed: {exc}"
    return done


if __name__ == "__main__":
    sys.stdout.write(json.dumps(preload(sys.argv[1], sys.argv[2:])) + "\n")
