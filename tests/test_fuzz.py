"""Fuzz every route of the OpenAPI schema against a real server: no 5xx, no hang.

Schemathesis generates valid and invalid requests from the app's own schema (all routes,
keys sent, so the handlers are reached), and Hypothesis sends arbitrary JSON and bytes to
every POST route (the webhooks read raw bodies the schema does not describe). At least
1,000 requests; each must answer below 500 within ``HANG_SECONDS`` (a hang detector: the
speed figures come from benchmarks/load.py).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from tests.conftest import LiveServer

pytestmark = pytest.mark.slow

ADMIN, READ, TELEGRAM_SECRET = "fuzz-admin", "fuzz-read", "fuzz-secret"
HANG_SECONDS = 30.0
MIN_REQUESTS = 1000
EXAMPLES = {"positive": 30, "negative": 70, "raw": 70}  # per operation (simple ones exhaust sooner)
FUZZ = settings(max_examples=1, deadline=None, database=None, derandomize=True, print_blob=False,
                suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=200),
    lambda inner: st.lists(inner, max_size=8) | st.dictionaries(st.text(max_size=20), inner, max_size=8),
    max_leaves=60,
)

raw_bodies = json_values | st.binary(max_size=2000) | st.integers(1, 5000).map(lambda n: b"[" * n + b"]" * n)


class Record:
    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self.failures: list[str] = []
        self.slowest = (0.0, "")

    def check(self, label: str, started: float, status: int, body: str) -> None:
        took = time.monotonic() - started
        self.count[label] += 1
        self.seconds[label] += took
        self.slowest = max(self.slowest, (took, label))
        if status >= 500 or took > HANG_SECONDS:
            self.failures.append(f"{label}: {status} after {took:.1f} s: {body[:300]}")


@pytest.fixture(scope="module")
def fuzz_server(seeded_dir, tmp_path_factory, e5):
    import shutil

    from bot.api import create_app
    from bot.settings import Settings
    from bot.wiring import build_service, build_store

    data = tmp_path_factory.mktemp("fuzz") / "data"
    shutil.copytree(seeded_dir, data)
    cfg = Settings(data_dir=data, admin_key=ADMIN, read_key=READ, rate_limit=0, upload_limit_mb=1,
                   telegram_bot_token="1:fuzz", telegram_webhook_secret=TELEGRAM_SECRET,
                   telegram_api_base="http://127.0.0.1:9", zalo_app_id="1", zalo_oa_secret="s",
                   zalo_access_token="t", zalo_api_base="http://127.0.0.1:9")
    app = create_app(build_service(cfg, build_store(cfg, e5)), cfg)
    with LiveServer(app) as server:
        yield server, app


def _headers() -> dict[str, str]:
    return {"X-API-Key": ADMIN, "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


def _explore(strategy: Any, examples: int, send: Callable[[Any], Any], label: str, record: Record) -> None:
    """``examples`` values drawn from ``strategy``, each sent and checked (failures recorded, not shrunk)."""
    @settings(FUZZ, max_examples=examples)
    @given(strategy)
    def run(value: Any) -> None:
        started = time.monotonic()
        try:
            response = send(value)
        except (httpx.HTTPError, OSError) as exc:  # requests' errors are OSErrors too
            record.check(label, started, 599, f"no response: {exc!r}")
            return
        record.check(label, started, response.status_code, response.text)

    try:
        run()
    except Unsatisfiable:  # e.g. no invalid request exists for a route without parameters
        pass


def _fuzz_schema(server: LiveServer, schema: Any, record: Record) -> None:
    from schemathesis import GenerationMode

    def send(case: Any) -> Any:
        return case.call(base_url=server.url, headers=_headers(), timeout=HANG_SECONDS)

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _explore(operation.as_strategy(generation_mode=mode), EXAMPLES[mode.value], send,
                     f"{operation.label} ({mode.value})", record)


def _fuzz_raw_bodies(server: LiveServer, paths: list[str], record: Record) -> None:
    with httpx.Client(base_url=server.url, timeout=HANG_SECONDS, headers=_headers()) as client:
        for path in paths:
            def send(body: Any, path: str = path) -> Any:
                if isinstance(body, bytes):
                    return client.post(path, content=body, headers={"Content-Type": "application/json"})
                return client.post(path, json=body)

            _explore(raw_bodies, EXAMPLES["raw"], send, f"POST {path} (raw)", record)


def test_fuzz_openapi_no_5xx_no_hang(fuzz_server):
    import schemathesis

    server, app = fuzz_server
    schema = schemathesis.openapi.from_dict(app.openapi())
    record = Record()
    _fuzz_schema(server, schema, record)
    posts = sorted(path for path, ops in app.openapi()["paths"].items() if "post" in ops and "{" not in path)
    _fuzz_raw_bodies(server, posts, record)

    total = sum(record.count.values())
    routes = {label.split(" (")[0] for label in record.count}
    print({k: (record.count[k], round(v, 1)) for k, v in record.seconds.most_common()})  # noqa: T201
    assert not record.failures, f"{len(record.failures)} of {total} failed:\n" + "\n".join(record.failures[:20])
    assert total >= MIN_REQUESTS, record.count
    assert {"POST /api/chat", "POST /v1/chat/completions", "POST /webhooks/zalo", "GET /api/deadlines"} <= routes
    print(f"fuzz: {total} requests over {len(routes)} routes, slowest {record.slowest[0]:.2f} s "  # noqa: T201
          f"({record.slowest[1]})")
