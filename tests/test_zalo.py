"""Zalo OA: a fake OpenAPI (and OAuth endpoint) on loopback, the real app on uvicorn, signed events over HTTP."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.channels.formatting import PLAIN, plain_messages, reply_runs
from bot.channels.http import RetryPolicy
from bot.channels.telegram import SECRET_HEADER
from bot.channels.zalo import signature, signed_timestamp
from tests.conftest import LiveServer
from tests.fake_messaging import (
    FakeTelegram,
    FakeZalo,
    Reply,
    ServiceProxy,
    check_cut_at_line_ends,
    check_sources,
    serve_channels,
    wait_drained,
    zalo_error,
)

APP_ID = "1234567890123456789"
OA_SECRET = "oaSecretKey_for_tests"
APP_SECRET = "appSecretKey_for_tests"
ACCESS_TOKEN = "zalo-access-token-xyz"
REFRESH_TOKEN = "zalo-refresh-token-0"
OA_ID = "579745863508352884"
EDUCATION = "Cơ sở giáo dục phải đăng ký gì trong Quý I?"


def now_ms() -> str:
    return str(int(time.time() * 1000))


def event(msg_id: str, text: str | None, user_id: str = "2468013579", name: str = "user_send_text",
          app_id: str = APP_ID, timestamp: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"msg_id": msg_id}
    if text is not None:
        message["text"] = text
    return {"app_id": app_id, "user_id_by_app": "552177279717587730", "event_name": name,
            "timestamp": timestamp or now_ms(), "sender": {"id": user_id}, "recipient": {"id": OA_ID},
            "message": message}


def follow(user_id: str) -> dict[str, Any]:
    """As Zalo posts a new follower (https://developers.zalo.me/docs/official-account/webhook)."""
    return {"app_id": APP_ID, "oa_id": OA_ID, "event_name": "follow", "timestamp": now_ms(),
            "follower": {"id": user_id}, "source": "oa_profile", "user_id_by_app": "552177279717587731"}


def zalo_mac(app_id: str, raw: bytes, timestamp: str, secret: str) -> str:
    """Zalo's scheme, written out independently of the code under test."""
    return "mac=" + hashlib.sha256(f"{app_id}{raw.decode()}{timestamp}{secret}".encode()).hexdigest()


def send(server: LiveServer, body: dict[str, Any] | None, *, sign: bool = True, secret: str = OA_SECRET,
         app_id: str = APP_ID, raw: bytes | None = None, timestamp: str | None = None) -> httpx.Response:
    raw = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if sign:
        headers["X-ZEvent-Signature"] = zalo_mac(app_id, raw, timestamp or (body or {})["timestamp"], secret)
    return httpx.post(server.url + "/webhooks/zalo", content=raw, headers=headers, timeout=10)


@pytest.fixture()
def fake() -> Iterator[FakeZalo]:
    with FakeZalo(ACCESS_TOKEN, REFRESH_TOKEN, APP_ID, APP_SECRET) as api:
        yield api


def serve(service: Any, data_dir: Path, fake: FakeZalo, tune: Callable[[Any], None] | None = None,
          **settings: Any) -> AbstractContextManager[LiveServer]:
    values = {"zalo_app_id": APP_ID, "zalo_oa_secret": OA_SECRET, "zalo_access_token": ACCESS_TOKEN,
              "zalo_api_base": fake.url, "zalo_refresh_token": REFRESH_TOKEN, "zalo_app_secret": APP_SECRET,
              "zalo_oauth_base": fake.url, "telegram_bot_token": None, **settings}
    return serve_channels(service, data_dir, values, tune)


def quick(attempts: int = 3, job_attempts: int = 5) -> Callable[[Any], None]:
    """Retries without the production pauses: ``attempts`` per call, ``job_attempts`` per queued reply."""

    def tune(channels: Any) -> None:
        channels.zalo.api.client.retry = RetryPolicy(attempts=attempts, base_delay=0.05, max_delay=0.1)
        channels.dispatchers["zalo"].attempts = job_attempts
        channels.dispatchers["zalo"].retry_delay = 0.05

    return tune


def texts(calls: list[Any]) -> list[str]:
    return [c.body["message"]["text"] for c in calls]


def api(fake: FakeZalo, data_dir: Path, **env: Any) -> Any:
    """The Zalo API client as the app builds it, outside a server."""
    from bot.channels.zalo_api import ZaloApi
    from bot.channels.zalo_token import ZaloAuth

    values = {"access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN, "app_secret": APP_SECRET, **env}
    auth = ZaloAuth(app_id=APP_ID, oauth_base=fake.url, data_dir=data_dir, **values)
    return ZaloApi(auth, fake.url, retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02))


# the signature, without a server


def test_signature_is_sha256_of_app_id_body_timestamp_and_oa_secret():
    body = event("m1", "Xin chào")
    raw = json.dumps(body, ensure_ascii=False).encode()
    mac = zalo_mac(APP_ID, raw, body["timestamp"], OA_SECRET)
    assert signature(APP_ID, raw, body["timestamp"], OA_SECRET) == mac
    assert signed_timestamp(mac, raw, APP_ID, OA_SECRET) == body["timestamp"]
    assert signed_timestamp(mac.removeprefix("mac="), raw, APP_ID, OA_SECRET)  # prefix optional
    assert signed_timestamp(mac.upper().replace("MAC=", "mac="), raw, APP_ID, OA_SECRET)
    assert not signed_timestamp(mac, raw, APP_ID, "another-secret")
    assert not signed_timestamp(mac, raw, "999", OA_SECRET)
    assert not signed_timestamp(mac, raw.replace(b"Xin", b"Xim"), APP_ID, OA_SECRET)
    assert not signed_timestamp(mac, raw.replace(body["timestamp"].encode(), b"1"), APP_ID, OA_SECRET)
    assert not signed_timestamp(None, raw, APP_ID, OA_SECRET)
    no_time = json.dumps({k: v for k, v in body.items() if k != "timestamp"}).encode()
    assert not signed_timestamp(zalo_mac(APP_ID, no_time, body["timestamp"], OA_SECRET), no_time, APP_ID, OA_SECRET)


# the token and the error codes, against the fake API without a server


def test_a_token_about_to_expire_is_refreshed_before_the_call(fake, tmp_path):
    from bot.channels.zalo_token import FILENAME

    (tmp_path / FILENAME).write_text(json.dumps({"access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN,
                                                 "expires_at": time.time() + 60}))  # a minute left
    client = api(fake, tmp_path)
    client.send_text({"user_id": "1"}, "xin chào")
    client.close()
    [refresh] = fake.of("access_token")
    [sent] = fake.of("cs")
    assert refresh.headers["secret_key"] == APP_SECRET
    assert refresh.body == {"refresh_token": REFRESH_TOKEN, "app_id": APP_ID, "grant_type": "refresh_token"}
    assert refresh.at < sent.at and sent.headers["access_token"] == "access-1"  # no -216 on the way
    stored = json.loads((tmp_path / FILENAME).read_text())
    assert (stored["access_token"], stored["refresh_token"]) == ("access-1", "refresh-1")
    assert 89000 < stored["expires_at"] - time.time() <= 90000


def test_the_stored_token_pair_wins_over_the_environment(fake, tmp_path):
    from bot.channels.zalo_token import FILENAME

    first = api(fake, tmp_path, access_token=None)  # a refresh token only: refresh at once
    first.send_text({"user_id": "1"}, "một")
    first.close()
    again = api(fake, tmp_path)  # a restart with the same (now spent) environment pair
    fake.expire(ACCESS_TOKEN)
    again.send_text({"user_id": "1"}, "hai")
    fake.expire("access-1")
    again.send_text({"user_id": "1"}, "ba")  # refreshed with the stored single-use token, not the spent one
    again.close()
    assert [c.headers["access_token"] for c in fake.of("cs")] == ["access-1", "access-1", "access-1", "access-2"]
    assert [c.body["refresh_token"] for c in fake.of("access_token")] == [REFRESH_TOKEN, "refresh-1"]
    assert json.loads((tmp_path / FILENAME).read_text())["refresh_token"] == "refresh-2"

    fake.refresh_tokens.add("reauthorised-refresh")  # the OA admin authorised the app again
    fresh = api(fake, tmp_path, access_token=None, refresh_token="reauthorised-refresh")
    fresh.send_text({"user_id": "1"}, "bốn")
    fresh.close()
    assert fake.of("access_token")[-1].body["refresh_token"] == "reauthorised-refresh"


def test_rate_limit_error_in_a_200_body_is_retried_then_logged(fake, tmp_path, caplog):
    from bot.channels.http import UpstreamError

    client = api(fake, tmp_path)
    fake.script("cs", zalo_error(-32, "Your application reached limit call api"))
    with caplog.at_level(logging.WARNING, logger="bot.channels.zalo_api"):
        client.send_text({"user_id": "1"}, "một")  # retried, then sent
        assert len(fake.of("cs")) == 2
        fake.script("cs", *[zalo_error(-32, "Your application reached limit call api")] * 3)
        with pytest.raises(UpstreamError) as limited:
            client.send_text({"user_id": "1"}, "hai")
        fake.script("cs", zalo_error(-213, "User has not followed OA"))
        with pytest.raises(UpstreamError) as refused:
            client.send_text({"user_id": "1"}, "ba")
    client.close()
    assert len(fake.of("cs")) == 2 + 3 + 1  # -32 tried three times, -213 once
    assert limited.value.code == -32 and limited.value.transient
    assert refused.value.code == -213 and not refused.value.transient
    assert "error -32 (Your application reached limit call api); retrying" in caplog.text
    assert "error -32 (Your application reached limit call api); not sent" in caplog.text
    assert "error -213 (User has not followed OA); not sent" in caplog.text
    assert ACCESS_TOKEN not in caplog.text


# the live app


@pytest.mark.slow
def test_a_text_event_is_answered_as_a_reply_to_its_message_with_sources(seeded_service, fake, tmp_path):
    spy = ServiceProxy(seeded_service)
    with serve(spy, tmp_path / "data", fake) as server:
        r = send(server, event("msg-1", EDUCATION, user_id="777"))
        assert r.status_code == 200 and r.json() == {"message": "ok"}
        wait_drained(server, "zalo")
    calls = fake.of("cs")
    [answer] = spy.answers
    assert answer.answered and spy.chats == [(EDUCATION, [])]
    assert all(c.headers["access_token"] == ACCESS_TOKEN for c in calls)
    assert all(c.body["recipient"] == {"message_id": "msg-1"} for c in calls)  # a reply, not a proactive message
    assert all(set(c.body["message"]) == {"text"} and len(c.body["message"]["text"]) <= 2000 for c in calls)
    text = "\n".join(texts(calls))
    assert "**" not in text and "<b>" not in text  # plain text, no markup
    check_cut_at_line_ends(texts(calls), PLAIN.render(reply_runs(answer)))
    check_sources(text, answer)


@pytest.mark.slow
def test_a_token_expiring_mid_run_is_refreshed_and_the_reply_delivered(seeded_service, fake, tmp_path):
    from bot.channels.zalo_token import FILENAME

    data = tmp_path / "data"
    with serve(seeded_service, data, fake) as server:
        send(server, event("t-1", "/help", user_id="61"))
        wait_drained(server, "zalo")
        fake.expire(ACCESS_TOKEN)  # the 25 hours are over
        send(server, event("t-2", "/help", user_id="62"))
        wait_drained(server, "zalo")
        status = httpx.get(server.url + "/api/status").json()
        assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    first, refused, resent = fake.of("cs")
    assert first.headers["access_token"] == ACCESS_TOKEN and first.body["recipient"] == {"message_id": "t-1"}
    assert refused.headers["access_token"] == ACCESS_TOKEN  # answered -216 Access token is invalid
    assert resent.headers["access_token"] == "access-1" and resent.body == refused.body
    [refresh] = fake.of("access_token")
    assert refresh.at > refused.at and refresh.body["refresh_token"] == REFRESH_TOKEN
    assert json.loads((data / FILENAME).read_text())["refresh_token"] == "refresh-1"
    zalo = status["channels"]["zalo"]
    assert zalo["configured"] is True and zalo["queued"] == 0 and zalo["token_source"] == "stored"
    valid_until = datetime.fromisoformat(zalo["token_valid_until"]).timestamp()
    assert 24 * 3600 < valid_until - time.time() < 26 * 3600
    assert zalo["last_error"] is None and zalo["last_delivery"]


@pytest.mark.slow
def test_a_failed_delivery_shows_in_the_status_with_zalos_code(seeded_service, fake, tmp_path):
    fake.script("cs", zalo_error(-213, "User has not followed OA"))
    with serve(seeded_service, tmp_path / "data", fake, tune=quick()) as server:
        send(server, event("s-1", "/help", user_id="71"))
        wait_drained(server, "zalo")
        error = httpx.get(server.url + "/api/status").json()["channels"]["zalo"]["last_error"]
    assert len(fake.of("cs")) == 1  # not retried: the user has to follow the OA first
    assert error["code"] == -213 and "User has not followed OA" in error["message"]


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
        assert send(server, event("good-1", "/help", user_id="3")).status_code == 200
        wait_drained(server, "zalo")  # refused events were never queued
    assert {c.body["recipient"]["message_id"] for c in fake.of("cs")} == {"good-1"}


@pytest.mark.slow
def test_finding_10_old_zalo_event_rejected(seeded_service, fake, tmp_path):
    with serve(seeded_service, tmp_path / "data", fake) as server:
        old = event("old-1", "/help", user_id="81", timestamp="1690000000000")  # July 2023, correctly signed
        refused = send(server, old)
        late = event("late-1", "/help", user_id="81", timestamp=str(int((time.time() - 4 * 3600) * 1000)))
        too_late = send(server, late)  # the default window is three hours
        future = send(server, event("fut-1", "/help", user_id="81", timestamp=str(int((time.time() + 3600) * 1000))))
        fresh = send(server, event("new-1", "/help", user_id="81"))
        wait_drained(server, "zalo")
    assert refused.status_code == 400 and "quá hạn" in refused.json()["detail"]
    assert too_late.status_code == 400 and future.status_code == 400 and fresh.status_code == 200
    assert [c.body["recipient"]["message_id"] for c in fake.of("cs")] == ["new-1"]


@pytest.mark.slow
def test_finding_10_old_zalo_event_window_is_configurable(seeded_service, fake, tmp_path):
    with serve(seeded_service, tmp_path / "data", fake, zalo_event_max_age=60) as server:
        minutes_old = event("w-1", "/help", user_id="82", timestamp=str(int((time.time() - 300) * 1000)))
        assert send(server, minutes_old).status_code == 400


@pytest.mark.slow
def test_finding_1_deep_json_webhook_is_4xx(seeded_service, fake, tmp_path):
    deep = b"[" * 2000 + b"]" * 2000
    with serve(seeded_service, tmp_path / "data", fake) as server:
        unsigned = httpx.post(server.url + "/webhooks/zalo", content=deep, headers={"Content-Type": "application/json"})
        ts = now_ms()
        nested = f'{{"timestamp": "{ts}", "event_name": "user_send_text", "x": '.encode() + deep + b"}"
        signed_deep = send(server, None, raw=nested, timestamp=ts)
        not_an_object = send(server, None, raw=f'[{{"timestamp": "{ts}"}}]'.encode(), timestamp=ts)
        broken = send(server, None, raw=f'{{"timestamp": "{ts}", '.encode(), timestamp=ts)
        huge = httpx.post(server.url + "/webhooks/zalo", content=b" " * (600 * 1024), timeout=10)
        wrong_type = send(server, {**event("ty-1", "hi"), "sender": {"id": [1]}})
        zalo_bot = httpx.post(server.url + "/webhooks/zalo-bot", content=deep,
                              headers={"Content-Type": "application/json"})
        assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    assert unsigned.status_code == 401
    assert signed_deep.status_code == 400 and "sâu" in signed_deep.json()["detail"]
    assert not_an_object.status_code == 400 and broken.status_code == 400
    assert huge.status_code == 413
    assert wrong_type.status_code == 400 and "sender.id" in wrong_type.json()["detail"]
    assert zalo_bot.status_code == 404  # not built: see the README, "Zalo Bot"
    assert fake.of("cs") == []


@pytest.mark.slow
def test_a_webhook_under_backlog_gets_200_and_the_reply_arrives_after_the_backlog_drains(seeded_service, fake,
                                                                                         tmp_path):
    gate = threading.Event()
    slow = ServiceProxy(seeded_service, gate=gate)
    with serve(slow, tmp_path / "data", fake) as server:
        acknowledged = [send(server, event(f"b-{i}", EDUCATION, user_id=f"9{i}")).status_code for i in range(5)]
        slow.wait_for_chats(2)  # both workers are stuck on the service
        waiting = httpx.get(server.url + "/api/status").json()["channels"]["zalo"]["queued"]
        assert not gate.is_set() and fake.of("cs") == []  # acknowledged while nothing was answered
        gate.set()
        wait_drained(server, "zalo")
    assert acknowledged == [200] * 5 and waiting == 5
    replied_to = {c.body["recipient"]["message_id"] for c in fake.of("cs")}
    assert replied_to == {f"b-{i}" for i in range(5)}


@pytest.mark.slow
def test_a_restart_with_queued_replies_loses_none(seeded_service, fake, tmp_path):
    data = tmp_path / "data"
    gate = threading.Event()
    stuck = ServiceProxy(seeded_service, gate=gate)
    questions = [("r-1", "A"), ("r-2", "A"), ("r-3", "A"), ("r-4", "B")]
    with serve(stuck, data, fake, channel_workers=1) as server:
        for msg_id, user in questions:
            assert send(server, event(msg_id, EDUCATION, user_id=user)).status_code == 200
        stuck.wait_for_chats(1)
    gate.set()  # the first server is gone; its stuck worker finds the store closed and sends nothing
    spy = ServiceProxy(seeded_service)
    with serve(spy, data, fake) as server:
        wait_drained(server, "zalo")
    sent = [c.body["recipient"]["message_id"] for c in fake.of("cs")]
    assert sorted(set(sent)) == ["r-1", "r-2", "r-3", "r-4"]
    assert [m for m in dict.fromkeys(sent) if m != "r-4"] == ["r-1", "r-2", "r-3"]  # in order within the chat
    assert len(spy.chats) == 4 and len(sent) == len(spy.answers) * len(plain_messages(spy.answers[0]))


@pytest.mark.slow
def test_a_redelivered_event_is_answered_once(seeded_service, fake, tmp_path):
    with serve(seeded_service, tmp_path / "data", fake) as server:
        body = event("dup-1", "/help", user_id="11")
        assert send(server, body).status_code == 200
        assert send(server, body).status_code == 200
        assert send(server, event("dup-2", "/help", user_id="12")).status_code == 200
        wait_drained(server, "zalo")
    assert sorted(c.body["recipient"]["message_id"] for c in fake.of("cs")) == ["dup-1", "dup-2"]
    assert "Hướng dẫn sử dụng chidao" in fake.of("cs")[0].body["message"]["text"]


@pytest.mark.slow
def test_a_long_answer_is_split_under_zalos_limit(seeded_service, fake, tmp_path):
    base = seeded_service.chat(EDUCATION)
    padded = ServiceProxy(seeded_service, repeat=3 * 2000 // len(base.answer) + 1)
    expected = plain_messages(dataclasses.replace(base, answer="\n\n".join([base.answer] * padded.repeat)))
    with serve(padded, tmp_path / "data", fake) as server:
        send(server, event("long-1", EDUCATION, user_id="21"))
        wait_drained(server, "zalo")
    parts = texts(fake.of("cs"))
    assert parts == expected
    assert len(parts) >= 3 and all(len(p) <= 2000 for p in parts)
    assert {c.body["recipient"]["message_id"] for c in fake.of("cs")} == {"long-1"}
    check_cut_at_line_ends(parts, PLAIN.render(reply_runs(padded.answers[0])))
    assert "Nguồn trích dẫn:" in parts[-1] and all("Nguồn trích dẫn:" not in p for p in parts[:-1])


@pytest.mark.slow
def test_5xx_is_retried_and_an_outage_is_waited_out(seeded_service, fake, tmp_path):
    fake.script("cs", Reply(502, {"error": 502, "message": "Bad Gateway"}))
    with serve(seeded_service, tmp_path / "data", fake, tune=quick(attempts=3, job_attempts=2)) as server:
        send(server, event("r-1", "/help", user_id="31"))
        wait_drained(server, "zalo")
        first, second = fake.of("cs")
        fake.script("cs", *[Reply(500, {"error": 500, "message": "down"})] * 6)
        send(server, event("r-2", "/help", user_id="32"))
        wait_drained(server, "zalo", timeout=120)
        assert httpx.get(server.url + "/healthz").status_code == 200
    assert first.body == second.body  # retried, then delivered
    assert [c.body["recipient"]["message_id"] for c in fake.of("cs")] == ["r-1"] * 2 + ["r-2"] * 6


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
            update = {"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": 9, "type": "private"},
                                                  "text": EDUCATION}}
            r = httpx.post(server.url + "/webhooks/telegram", json=update, headers={SECRET_HEADER: "s"})
            assert r.status_code == 200
            chat = httpx.post(server.url + "/api/chat", json={"message": EDUCATION}, timeout=30)
            assert chat.status_code == 200 and chat.json()["answered"] is True
            telegram.wait_for("sendMessage", 1, timeout=6)
            assert time.monotonic() - started < 6  # well before any Zalo call returns


@pytest.mark.slow
def test_other_messages_get_a_text_only_notice_and_a_follower_is_greeted(seeded_service, fake, tmp_path):
    with serve(seeded_service, tmp_path / "data", fake) as server:
        assert send(server, event("img-1", None, user_id="51", name="user_send_image")).status_code == 200
        followed = follow("52")
        assert send(server, followed).status_code == 200
        assert send(server, followed).status_code == 200  # re-delivered: greeted once
        assert send(server, {**event("x", None), "event_name": "user_seen_message"}).status_code == 200
        assert httpx.post(server.url + "/webhooks/zalo", content=b"{}").status_code == 401  # unsigned: refused
        wait_drained(server, "zalo")
    notice, greeting = sorted(fake.of("cs"), key=lambda c: json.dumps(c.body["recipient"]))
    assert notice.body["recipient"] == {"message_id": "img-1"} and "văn bản" in notice.body["message"]["text"]
    assert greeting.body["recipient"] == {"user_id": "52"}  # no message to answer: addressed to the follower
    assert "Cảm ơn bạn đã quan tâm" in greeting.body["message"]["text"]


@pytest.mark.slow
def test_unconfigured_zalo_says_what_is_missing(seeded_service, fake, tmp_path):
    with serve(seeded_service, tmp_path / "data", fake, zalo_access_token=None, zalo_refresh_token=None) as server:
        r = send(server, event("n-1", EDUCATION))
        status = httpx.get(server.url + "/api/status").json()["channels"]
    assert r.status_code == 404 and "ZALO_ACCESS_TOKEN" in r.json()["detail"]
    assert status["zalo"] == {"configured": False} and fake.of("cs") == []
