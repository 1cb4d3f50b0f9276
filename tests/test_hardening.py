"""Issue 15's findings 5–11: each test is named for the finding it keeps fixed.

Memory findings are checked structurally (how much of an offered body the server pulls, what
it writes to temporary files), not by timing or RSS; benchmarks/load.py measures memory.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import httpx
import pytest

from tests.asgi_body import CHUNK, Offered, call
from tests.conftest import ROOT, LiveServer, free_port

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
READ, ADMIN = "khoa-doc", "khoa-quan-tri"
BOUNDARY = "chidao-bien"


def multipart(name: str, size: int, filler: bytes = b"x") -> Offered:
    head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: text/plain\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    return Offered(len(head) + size + len(tail), head=head, tail=tail, filler=filler)


@pytest.fixture(scope="module")
def guarded(seeded_dir):
    """Settings with both keys, a 1 MB upload limit, Zalo configured (it reads bodies), no rate limit."""
    from bot.settings import Settings

    return Settings(data_dir=seeded_dir, read_key=READ, admin_key=ADMIN, upload_limit_mb=1, rate_limit=0,
                    zalo_app_id="1", zalo_oa_secret="bi-mat", zalo_access_token="t")


@pytest.fixture()
def guarded_app(seeded_service, guarded):
    from bot.api import create_app

    app = create_app(seeded_service, guarded)
    yield app
    app.state.channels.close()


# -- finding 7: body-size limit, before auth and parsing -------------------------------------

def test_finding_7_body_limit_before_auth(guarded_app):
    from bot.routes.limits import CHAT_LIMIT, WEBHOOK_LIMIT

    json_type = {"content-type": "application/json"}
    chunked = Offered(20 * MIB, head=b'{"message": "')  # no Content-Length: counted as it arrives
    r = call(guarded_app, "POST", "/api/chat", chunked, json_type)
    assert r.status == 413 and "quá lớn" in r.json()["detail"]
    assert chunked.pulled <= CHAT_LIMIT + CHUNK

    declared = Offered(20 * MIB)  # a declared length over the limit: not one byte is read
    r = call(guarded_app, "POST", "/api/chat", declared, {**json_type, "content-length": str(200 * MIB)})
    assert r.status == 413 and declared.pulled == 0

    unsigned = Offered(20 * MIB, head=b"[", filler=b"[")
    r = call(guarded_app, "POST", "/webhooks/zalo", unsigned, json_type)
    assert r.status == 413 and unsigned.pulled <= WEBHOOK_LIMIT + CHUNK

    small = Offered.json({"message": "Sở Y tế phải làm gì?"})  # under the limit: auth answers as before
    assert call(guarded_app, "POST", "/api/chat", small, json_type).status == 401


def _send_until_answered(url: str, head: bytes, filler: bytes, most: int) -> tuple[str, int]:
    """Send ``head`` then ``filler`` until the server answers (or ``most`` bytes); the status line and
    how many bytes had gone out when it answered."""
    host, port = url.removeprefix("http://").split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        reply = b""
        while sent < most and not reply:
            try:
                sent += sock.send(filler)
            except BlockingIOError:
                pass
            except OSError:  # the server closed its side after answering
                break
            try:
                reply = sock.recv(4096)
            except BlockingIOError:
                pass
        sock.setblocking(True)
        reply += b"" if reply else sock.recv(4096)
    return reply.split(b"\r\n", 1)[0].decode(), sent


def test_finding_7_413_arrives_before_the_client_finished_sending(seeded_service, guarded):
    from bot.api import create_app

    app = create_app(seeded_service, guarded)
    with LiveServer(app) as server:
        chat = (b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
        piece = b"%x\r\n%s\r\n" % (CHUNK, b"x" * CHUNK)
        status, sent = _send_until_answered(server.url, chat, piece, 200 * MIB)
        assert status.endswith("413 Request Entity Too Large") and sent < 200 * MIB

        upload = multipart("lon.txt", 40 * MIB)
        head = (f"POST /api/documents HTTP/1.1\r\nHost: x\r\nX-API-Key: {ADMIN}\r\nContent-Length: {upload.total}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n").encode() + upload.head
        status, sent = _send_until_answered(server.url, head, b"x" * CHUNK, 40 * MIB)
        assert status.endswith("413 Request Entity Too Large") and sent < 40 * MIB


# -- finding 8: uploads checked while they stream ----------------------------------------------

def test_finding_8_upload_limit_while_streaming(guarded_app, seeded_service, monkeypatch):
    written: list[int] = []

    class Recorded(tempfile.SpooledTemporaryFile):  # type: ignore[type-arg]
        def write(self, data):  # type: ignore[no-untyped-def]
            written.append(len(data))
            return super().write(data)

    for module in ("starlette.formparsers", "bot.routes.uploads"):  # wherever an upload may be spooled
        if importlib.util.find_spec(module):
            monkeypatch.setattr(f"{module}.SpooledTemporaryFile", Recorded)
    before = {d.id: d.version for d in seeded_service.documents()}
    offered = multipart("lon.txt", 20 * MIB)
    r = call(guarded_app, "POST", "/api/documents", offered,
             {"x-api-key": ADMIN, "content-type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert r.status == 413 and "vượt quá giới hạn 1 MB" in r.json()["detail"]
    assert offered.pulled <= MIB + len(offered.head) + CHUNK  # reading stopped at the limit
    assert sum(written) <= MIB  # nothing over the limit was spooled to memory or /tmp
    assert {d.id: d.version for d in seeded_service.documents()} == before


# -- finding 9: same-name uploads ----------------------------------------------------------------

PLAN = "KẾ HOẠCH\nTuần tra biên giới {n}\n\nI. NHIỆM VỤ\n1. Đồn biên phòng số {n}\n- Tuần tra đường mòn {n}.\n"


@pytest.fixture()
def writable(copy_of_seeded, e5):
    from bot.settings import Settings
    from bot.wiring import build_service, build_store

    settings = Settings(data_dir=copy_of_seeded, admin_key=ADMIN, rate_limit=0)
    return settings, build_service(settings, build_store(settings, e5))


def test_finding_9_concurrent_same_name_uploads(writable):
    from bot.api import create_app

    settings, service = writable
    indexer = service.indexer
    first_inside, second_arrived = threading.Event(), threading.Event()
    ingest, embed = service.ingest, indexer._embed

    def counted_ingest(data, source):  # type: ignore[no-untyped-def]
        if first_inside.is_set():
            second_arrived.set()
        return ingest(data, source)

    def held_embed(texts, progress):  # type: ignore[no-untyped-def]
        if not first_inside.is_set():  # the first upload is mid-ingest when the second comes in
            first_inside.set()
            second_arrived.wait(30)
        return embed(texts, progress)

    service.ingest, indexer._embed = counted_ingest, held_embed
    results: dict[int, dict] = {}
    with LiveServer(create_app(service, settings)) as server:
        def upload(n: int) -> None:
            r = httpx.post(server.url + "/api/documents", headers={"X-API-Key": ADMIN}, timeout=120,
                           files={"files": ("trung-ten.txt", PLAN.format(n=n).encode(), "text/plain")})
            results[n] = r.json()["results"][0]

        first = threading.Thread(target=upload, args=(1,))
        first.start()
        assert first_inside.wait(60)
        upload(2)
        first.join(60)
        text = httpx.get(server.url + "/api/documents/trung-ten").json()["text"]
    assert second_arrived.is_set()
    statuses = sorted(r["status"] for r in results.values())
    assert statuses == ["added", "updated"]  # never two "added": the second saw the first
    last = next(n for n, r in results.items() if r["status"] == "updated")
    assert f"Tuần tra biên giới {last}" in text


# -- finding 10: labels and the API description ----------------------------------------------

def test_finding_10_bidi_stripped_from_labels(writable):
    from bot.api import create_app

    settings, service = writable
    name = "ke-hoach\u202egpj.exe\u202c\x1b[31m.txt"
    text = "KẾ HOẠCH\nTuần tra\u202e \u2066biên giới\u2069\x07 mùa mưa\n\nI. NHIỆM VỤ\n1. Đồn biên phòng\n- Tuần tra.\n"
    with LiveServer(create_app(service, settings)) as server:
        r = httpx.post(server.url + "/api/documents", headers={"X-API-Key": ADMIN}, timeout=120,
                       files={"files": (name, text.encode(), "text/plain")})
        assert r.status_code == 200, r.text
        doc_id = r.json()["results"][0]["document_id"]
        doc = httpx.get(server.url + f"/api/documents/{doc_id}").json()
    labels = [doc["source"], doc["title"], *(p["section"] for p in doc["passages"])]
    unsafe = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\x1b\x07")
    assert not [label for label in labels if unsafe & set(label)], labels
    assert doc["source"] == "ke-hoachgpj.exe[31m.txt" and "biên giới" in doc["title"]


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc"])
def test_finding_10_docs_need_read_key(seeded_service, guarded, path):
    from bot.api import create_app

    app = create_app(seeded_service, guarded)
    assert call(app, "GET", path, Offered(0)).status == 401
    assert call(app, "GET", path, Offered(0), {"x-api-key": "sai"}).status == 403
    assert call(app, "GET", path, Offered(0), {"x-api-key": READ}).status == 200
    assert call(app, "GET", path, Offered(0), {"authorization": f"Bearer {ADMIN}"}).status == 200
    off = create_app(seeded_service, guarded.model_copy(update={"api_docs": False}))
    assert call(off, "GET", path, Offered(0), {"x-api-key": READ}).status == 404
    open_app = create_app(seeded_service, guarded.model_copy(update={"read_key": None}))
    assert call(open_app, "GET", path, Offered(0)).status == 200  # no read key: reading is open


# -- finding 11: rate limit on the chat routes -----------------------------------------------

def test_finding_11_chat_rate_limited(seeded_service, guarded):
    from bot.api import create_app

    app = create_app(seeded_service, guarded.model_copy(update={"rate_limit": 2, "read_key": None}))
    now = [1000.0]
    app.state.rate_limiter.clock = lambda: now[0]
    question = {"message": "Sở Y tế phải làm gì?"}
    completion = {"model": "chidao", "messages": [{"role": "user", "content": "Sở Y tế phải làm gì?"}]}
    json_type = {"content-type": "application/json"}
    assert call(app, "POST", "/api/chat", Offered.json(question), json_type).status == 200
    assert call(app, "POST", "/v1/chat/completions", Offered.json(completion), json_type).status == 200
    for path, body in (("/api/chat", question), ("/v1/chat/completions", completion)):
        r = call(app, "POST", path, Offered.json(body), json_type)
        assert r.status == 429 and r.headers["retry-after"] == "30"  # 2 a minute: one more in 30 s
        message = r.json()["error"]["message"] if path.startswith("/v1") else r.json()["detail"]
        assert "thử lại sau 30 giây" in message
    assert call(app, "POST", "/api/chat", Offered.json(question), json_type, client="10.0.0.2").status == 200
    assert call(app, "POST", "/api/search", Offered.json({"query": "Sở Y tế"}), json_type).status == 200
    now[0] += 30
    assert call(app, "POST", "/api/chat", Offered.json(question), json_type).status == 200
    unlimited = create_app(seeded_service, guarded.model_copy(update={"rate_limit": 0, "read_key": None}))
    assert unlimited.state.rate_limiter is None


# -- finding 5: message length, history bound ---------------------------------------------------

def test_finding_5_v1_message_length(seeded_service, guarded):
    from bot.api import create_app

    app = create_app(seeded_service, guarded.model_copy(update={"read_key": None}))
    messages = [{"role": "user", "content": "Sở Y tế phải làm gì? " * 1200},  # 25,200 characters
                {"role": "assistant", "content": "…"}, {"role": "user", "content": "Còn Sở Tài chính?"}]
    r = call(app, "POST", "/v1/chat/completions", Offered.json({"model": "chidao", "messages": messages}),
             {"content-type": "application/json"})
    assert r.status == 400 and "quá dài" in r.json()["error"]["message"]  # OpenAI's shape for a 422
    parts = [{"type": "text", "text": "x" * 15000}, {"type": "text", "text": "y" * 15000}]
    r = call(app, "POST", "/v1/chat/completions",
             Offered.json({"messages": [{"role": "user", "content": parts}]}), {"content-type": "application/json"})
    assert r.status == 400 and "quá dài" in r.json()["error"]["message"]


def test_finding_5_history_bounded_by_total_characters(seeded_service, guarded, monkeypatch):
    """40 turns of 20,000 characters (allowed at the API, within its 1 MB body limit): the follow-up
    is read against at most CHIDAO_HISTORY_CHARS of the latest turns."""
    from bot import contextualize
    from bot.api import create_app

    read: list[list] = []
    recent = contextualize.recent_turns
    monkeypatch.setattr(contextualize, "recent_turns", lambda *a, **k: read.append(recent(*a, **k)) or read[-1])
    app = create_app(seeded_service, guarded.model_copy(update={"read_key": None}))
    history = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"lượt {i} " + "x" * 19990}
               for i in range(40)]
    r = call(app, "POST", "/api/chat", Offered.json({"message": "Còn Sở Y tế thì sao?", "history": history}),
             {"content-type": "application/json"})
    assert r.status == 200
    assert read and 0 < sum(len(t.content) for t in read[-1]) <= guarded.history_chars
    assert read[-1][-1].content.startswith("lượt 39 ")  # the latest turns are the ones read


def test_finding_5_sigterm_stops_within_5s(copy_of_seeded):
    """`chidao serve` with a request in flight (its body never finishes) stops within 5 s of SIGTERM."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port),
                               "--data-dir", str(copy_of_seeded)], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b" 200 " in sock.recv(4096)  # the connection is the server's now
            sock.sendall(b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n{\"message\": \"S")  # ... and the rest never comes
            started = time.monotonic()
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pytest.fail("the server was still running 30 s after SIGTERM")
            assert time.monotonic() - started < 5
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


# -- finding 6: deadline exports -----------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "csv", "ics"])
def test_finding_6_deadline_export_is_capped(seeded_service, guarded, monkeypatch, fmt):
    from bot.api import create_app
    from bot.routes import agencies

    app = create_app(seeded_service, guarded.model_copy(update={"read_key": None}))
    expanded = []
    occurrences = seeded_service.tasks.occurrences
    monkeypatch.setattr(seeded_service.tasks, "occurrences", lambda *a: expanded.append(a) or occurrences(*a))
    for query in ("from=0001-01-01&to=9999-12-31", "from=0001-01-01", "to=9999-12-31"):
        r = call(app, "GET", f"/api/deadlines?format={fmt}&{query}", Offered(0))
        assert r.status == 422 and "quá rộng" in r.json()["detail"], query
    assert expanded == []  # refused before a single occurrence was expanded

    everything = call(app, "GET", "/api/deadlines?format=json", Offered(0))
    assert everything.status == 200 and len(everything.json()) > 2
    monkeypatch.setattr(agencies, "MAX_ROWS", 2)
    r = call(app, "GET", f"/api/deadlines?format={fmt}", Offered(0))
    assert r.status == 422 and "Quá nhiều thời hạn" in r.json()["detail"]
