"""Zalo OA: a fake OpenAPI on loopback, the real app on uvicorn, signed events over HTTP."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.channels.formatting import PLAIN, plain_messages, reply_runs
from bot.channels.http import RetryPolicy
from bot.channels.telegram import SECRET_HEADER
from bot.channels.zalo import signature, verify
from tests.conftest import LiveServer
from tests.fake_messaging import (
    FakeTelegram,
    FakeZalo,
    Reply,
    ServiceProxy,
    check_cut_at_line_ends,
    check_sources,
    serve_channels,
)

APP_ID = "1234567890123456789"
OA_SECRET = "oaSecretKey_for_tests"
ACCESS_TOKEN = "zalo-access-token-xyz"
OA_ID = "579745863508352884"
EDUCATION = "Cơ sở giáo dục phải đăng ký gì trong Quý I?"


def event(msg_id: str, text: str | None, user_id: str = "2468013579", name: str = "user_send_text",
          app_id: str = APP_ID) -> dict[str, Any]:
    message: dict[str, Any] = {"msg_id": msg_id}
    if text is not None:
        message["text"] = text
    return {"app_id": app_id, "user_id_by_app": "552177279717587730", "event_name": name,
            "timestamp": str(int(time.time() * 1000)), "sender": {"id": user_id}, "recipient": {"id": OA_ID},
            "message": message}


def zalo_mac(app_id: str, raw: bytes, timestamp: str, secret: str) -> str:
    """Zalo's scheme, written out independently of the code under test."""
    return "mac=" + hashlib.sha256(f"{app_id}{raw.decode()}{timestamp}{secret}".encode()).hexdigest()


def send(server: LiveServer, body: dict[str, Any], *, sign: bool = True, secret: str = OA_SECRET,
         app_id: str = APP_ID, raw: bytes | None = None) -> httpx.Response:
    raw = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if sign:
        headers["X-ZEvent-Signature"] = zalo_mac(app_id, raw, body["timestamp"], secret)
    return httpx.post(server.url + "/webhooks/zalo", content=raw, headers=headers, timeout=10)


@pytest.fixture()
def fake() -> Iterator[FakeZalo]:
    with FakeZalo() as api:
        yield api


def serve(service: Any, data_dir: Path, fake: FakeZalo, tune: Callable[[Any], None] | None = None,
          **settings: Any) -> AbstractContextManager[LiveServer]:
    values = {"zalo_app_id": APP_ID, "zalo_oa_secret": OA_SECRET, "zalo_access_token": ACCESS_TOKEN,
              "zalo_api_base": fake.url, "telegram_bot_token": None, **settings}
    return serve_channels(service, data_dir, values, tune)


def texts(calls: list[Any]) -> list[str]:
    return [c.body["message"]["text"] for c in calls]


# the signature, without a server


def test_signature_is_sha256_of_app_id_body_timestamp_and_oa_secret():
    raw = json.dumps(event("m1", "Xin chào"), ensure_ascii=False).encode()
    body = json.loads(raw)
    mac = zalo_mac(APP_ID, raw, body["timestamp"], OA_SECRET)
    assert signature(APP_ID, raw, body["timestamp"], OA_SECRET) == mac
    assert verify(mac, raw, body, APP_ID, OA_SECRET)
    assert verify(mac.removeprefix("mac="), raw, body, APP_ID, OA_SECRET)  # prefix optional
    assert verify(mac.upper().replace("MAC=", "mac="), raw, body, APP_ID, OA_SECRET)
    assert not verify(mac, raw, body, APP_ID, "another-secret")
    assert not verify(mac, raw, body, "999", OA_SECRET)
    assert not verify(mac, raw.replace(b"Xin", b"Xim"), body, APP_ID, OA_SECRET)
    assert not verify(mac, raw, {**body, "timestamp": "1"}, APP_ID, OA_SECRET)
    assert not verify(None, raw, body, APP_ID, OA_SECRET)
    assert not verify(mac, raw, {k: v for k, v in body.items() if k != "timestamp"}, APP_ID, OA_SECRET)


# the live app


@pytest.mark.slow
def test_a_signed_text_event_is_answered_with_its_sources(seeded_service, fake, tmp_path):
    spy = ServiceProxy(seeded_service)
    with serve(spy, tmp_path / "data", fake) as server:
        r = send(server, event("msg-1", EDUCATION, user_id="777"))
        assert r.status_code == 200 and r.json() == {"message": "ok"}
        fake.wait_for("cs", 1)
        time.sleep(0.5)
    calls = fake.of("cs")
    [answer] = spy.answers
    assert answer.answered and spy.chats == [(EDUCATION, [])]
    assert all(c.headers["access_token"] == ACCESS_TOKEN for c in calls)
    assert all(c.body["recipient"] == {"user_id": "777"} for c in calls)
    assert all(set(c.body["message"]) == {"text"} and len(c.body["message"]["text"]) <= 2000 for c in calls)
    text = "\n".join(texts(calls))
    assert "**" not in text and "<b>" not in text  # plain text, no markup
    check_cut_at_line_ends(texts(calls), PLAIN.render(reply_runs(answer)))
    check_sources(text, answer)


@pytest.mark.slow
def test_unsigned_and_forged_events_get_401_and_no_reply(seeded_service, fake, tmp_path):
    with serve(seeded_service, tmp_path / "data", fake) as server:
        body = event("bad-1", EDUCATION, user_id="1")
        assert send(server, body, sign=False).status_code == 401
        assert send(server, body, secret="guessed-secret").status_code == 401
        assert send(server, body, app_id="42").status_code == 401
        raw = json.dumps(body, ensure_ascii=False).encode()
        tampered = raw.replace(b'"1"', b'"2"')  # signed for user 1, delivered for user 2
        headers = {"X-ZEvent-Signature": zalo_mac(APP_ID, raw, body["timestamp"], OA_SECRET)}
        forged = httpx.post(server.url + "/webhooks/zalo", content=tampered, headers=headers)
        assert forged.status_code == 401 and "Chữ ký" in forged.json()["detail"]
        assert send(server, event("good-1", EDUCATION, user_id="3")).status_code == 200  # the barrier
        fake.wait_for("cs", 1)
        time.sleep(0.5)
    assert {c.body["recipient"]["user_id"] for c in fake.of("cs")} == {"3"}


@pytest.mark.slow
def test_a_redelivered_event_is_answered_once(seeded_service, fake, tmp_path):
    with serve(seeded_service, tmp_path / "data", fake) as server:
        body = event("dup-1", "/help", user_id="11")
        assert send(server, body).status_code == 200
        assert send(server, body).status_code == 200
        assert send(server, event("dup-2", "/help", user_id="12")).status_code == 200
        fake.wait_for("cs", 2)
        time.sleep(0.5)
    assert sorted(c.body["recipient"]["user_id"] for c in fake.of("cs")) == ["11", "12"]
    assert "Hướng dẫn sử dụng chidao" in fake.of("cs")[0].body["message"]["text"]


@pytest.mark.slow
def test_a_long_answer_is_split_under_zalos_limit(seeded_service, fake, tmp_path):
    base = seeded_service.chat(EDUCATION)
    padded = ServiceProxy(seeded_service, repeat=3 * 2000 // len(base.answer) + 1)
    expected = plain_messages(dataclasses.replace(base, answer="\n\n".join([base.answer] * padded.repeat)))
    with serve(padded, tmp_path / "data", fake) as server:
        send(server, event("long-1", EDUCATION, user_id="21"))
        fake.wait_for("cs", len(expected))
        time.sleep(1.0)
    parts = texts(fake.of("cs"))
    assert parts == expected
    assert len(parts) >= 3 and all(len(p) <= 2000 for p in parts)
    check_cut_at_line_ends(parts, PLAIN.render(reply_runs(padded.answers[0])))
    assert "Nguồn trích dẫn:" in parts[-1] and all("Nguồn trích dẫn:" not in p for p in parts[:-1])


@pytest.mark.slow
def test_5xx_is_retried_then_given_up(seeded_service, fake, tmp_path):
    def quick(channels: Any) -> None:
        channels.zalo.api.client.retry = RetryPolicy(attempts=3, base_delay=0.1, max_delay=0.2)

    fake.script("cs", Reply(502, {"error": 502, "message": "Bad Gateway"}))
    with serve(seeded_service, tmp_path / "data", fake, tune=quick) as server:
        send(server, event("r-1", "/help", user_id="31"))
        first, second = fake.wait_for("cs", 2)
        fake.script("cs", *[Reply(500, {"error": 500, "message": "down"})] * 3)
        send(server, event("r-2", "/help", user_id="32"))
        fake.wait_for("cs", 5)
        time.sleep(0.8)
        assert httpx.get(server.url + "/healthz").status_code == 200
    assert first.body == second.body  # retried, then delivered
    assert [c.body["recipient"]["user_id"] for c in fake.of("cs")] == ["31", "31", "32", "32", "32"]


@pytest.mark.slow
def test_a_zalo_outage_blocks_neither_telegram_nor_the_web_api(seeded_service, fake, tmp_path):
    hanging = [Reply(200, {"error": 0, "message": "Success", "data": {}}, delay=8.0)] * 4
    fake.script("cs", *hanging)
    with FakeTelegram() as telegram:
        with serve(seeded_service, tmp_path / "data", fake, telegram_bot_token="1:T", telegram_webhook_secret="s",
                   telegram_api_base=telegram.url) as server:
            for i in range(4):  # enough to occupy every Zalo worker
                assert send(server, event(f"hang-{i}", "/help", user_id=f"4{i}")).status_code == 200
            fake.wait_for("cs", 2)
            started = time.monotonic()
            update = {"update_id": 1, "message": {"message_id": 1, "chat": {"id": 9, "type": "private"},
                                                  "text": EDUCATION}}
            r = httpx.post(server.url + "/webhooks/telegram", json=update, headers={SECRET_HEADER: "s"})
            assert r.status_code == 200
            chat = httpx.post(server.url + "/api/chat", json={"message": EDUCATION}, timeout=30)
            assert chat.status_code == 200 and chat.json()["answered"] is True
            telegram.wait_for("sendMessage", 1, timeout=6)
            assert time.monotonic() - started < 6  # well before any Zalo call returns


@pytest.mark.slow
def test_other_messages_get_a_text_only_notice_and_other_events_are_ignored(seeded_service, fake, tmp_path):
    with serve(seeded_service, tmp_path / "data", fake) as server:
        assert send(server, event("img-1", None, user_id="51", name="user_send_image")).status_code == 200
        assert send(server, {**event("f-1", None, user_id="52"), "event_name": "follow"}).status_code == 200
        assert httpx.post(server.url + "/webhooks/zalo", content=b"{}").status_code == 401  # unsigned: refused
        fake.wait_for("cs", 1)
        time.sleep(0.5)
    [call] = fake.of("cs")
    assert call.body["recipient"]["user_id"] == "51" and "văn bản" in call.body["message"]["text"]


@pytest.mark.slow
def test_unconfigured_zalo_says_what_is_missing(seeded_service, fake, tmp_path):
    with serve(seeded_service, tmp_path / "data", fake, zalo_access_token=None) as server:
        r = send(server, event("n-1", EDUCATION))
    assert r.status_code == 404 and "ZALO_ACCESS_TOKEN" in r.json()["detail"]
    assert fake.of("cs") == []
