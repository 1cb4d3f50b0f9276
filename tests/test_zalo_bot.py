"""Zalo Bot: a fake Zalo Bot API on loopback (its documented wire format), the real app on uvicorn,
updates over HTTP as the docs show them (https://bot.zaloplatforms.com/docs/)."""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.channels.formatting import PLAIN, plain_messages, reply_runs
from bot.channels.http import RetryPolicy, UpstreamError
from bot.channels.wire import BadBody
from bot.channels.zalo_bot import parse_update
from bot.channels.zalo_bot_api import SECRET_HEADER, ZaloBotApi
from tests.conftest import ROOT, LiveServer
from tests.fake_messaging import (
    FakeZaloBot,
    Reply,
    ServiceProxy,
    answer_text,
    check_cut_at_line_ends,
    check_sources,
    serve_channels,
    wait_drained,
    zalo_bot_error,
)

TOKEN = "1459232241454765289:AbCdEfGhIjKlMnOpQrStUvWxYz-0123456789_abcdefghij"
SECRET = "mykey-abcxyz_2026"
USER = "e4ea2cd5189df1c3a88c"
FINANCE = "Sở Tài chính có nhiệm vụ gì?"
HOUR = 3600.0


def now_ms() -> int:
    return int(time.time() * 1000)


def update(message_id: str, text: str | None, *, chat_id: str = USER, chat_type: str = "PRIVATE",
           event: str | None = "message.text.received", date: int | None = None,
           wrapped: bool = True) -> dict[str, Any]:
    """As the docs' webhook sample: ``{"ok": true, "result": {"message": …, "event_name": …}}``."""
    message: dict[str, Any] = {"from": {"id": chat_id, "display_name": "Cán bộ", "is_bot": False},
                               "chat": {"id": chat_id, "chat_type": chat_type}, "message_id": message_id,
                               "date": now_ms() if date is None else date}
    if text is not None:
        message["text"] = text
    result: dict[str, Any] = {"message": message}
    if event is not None:
        result["event_name"] = event
    return {"ok": True, "result": result} if wrapped else result


def post(server: LiveServer, body: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return httpx.post(server.url + "/webhooks/zalo-bot", json=body, headers=headers, timeout=10)


@pytest.fixture()
def fake() -> Iterator[FakeZaloBot]:
    with FakeZaloBot(TOKEN) as api:
        yield api


def serve(service: Any, data_dir: Path, fake: FakeZaloBot, tune: Callable[[Any], None] | None = None,
          **settings: Any) -> AbstractContextManager[LiveServer]:
    values = {"zalo_bot_token": TOKEN, "zalo_bot_webhook_secret": SECRET, "zalo_bot_api_base": fake.url,
              "telegram_bot_token": None, "zalo_app_id": None, "zalo_oa_secret": None, "zalo_access_token": None,
              **settings}
    return serve_channels(service, data_dir, values, tune)


def quick_retries(channels: Any) -> None:
    """Retries without the production pauses."""
    channels.zalo_bot.api.client.retry = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.1)
    channels.dispatchers["zalo_bot"].retry_delay = 0.05


def status(server: LiveServer) -> dict[str, Any]:
    return httpx.get(server.url + "/api/status", timeout=10).json()["channels"]["zalo_bot"]


# reading updates, without a server


@pytest.mark.parametrize(("body", "expected"), [
    (update("m1", "Xin chào"), ("Xin chào", USER)),  # the docs' webhook body
    (update("m2", "Xin chào", wrapped=False), ("Xin chào", USER)),  # a bare update
    (update("m3", "Xin chào", event=None), ("Xin chào", USER)),  # the getUpdates sample has no event_name
    (update("m4", None, event="message.image.received"), (None, USER)),  # answered: text only
    (update("m5", None, event="message.sticker.received"), (None, USER)),
    (update("m6", None, event="message.unsupported.received"), (None, USER)),
    (update("m7", "@Bot chidao Sở Y tế?", chat_id="g1", chat_type="GROUP"), None),  # groups are not answered
    (update("m8", "Xin chào", date=now_ms() - int(4 * HOUR * 1000)), None),  # older than the window
    (update("m9", "Xin chào", date=now_ms() + int(HOUR * 1000)), None),  # from the future
    (update("m10", "Xin chào", event="bot.added"), None),  # not a user's message
    ({"ok": True, "result": {"event_name": "message.text.received"}}, None),  # no message
])
def test_updates_are_read_wrapped_or_bare(body, expected):
    inbound = parse_update(body, max_age=3 * HOUR)
    assert (inbound and (inbound.text, inbound.chat_id)) == expected
    if inbound:
        assert inbound.delivery == f"{USER}:{inbound.message_id}" and not inbound.group


@pytest.mark.parametrize(("body", "field"), [
    ({"ok": True, "result": {"message": {"message_id": "x", "chat": {"id": 5}, "text": "a"}}}, "message.chat.id"),
    ({"ok": True, "result": {"message": {"chat": {"id": "c"}, "text": "a"}}}, "message.message_id"),
    ({"ok": True, "result": [1]}, "result"),
])
def test_a_malformed_update_is_refused_naming_the_field(body, field):
    with pytest.raises(BadBody) as caught:
        parse_update(body, max_age=HOUR)
    assert caught.value.status == 400 and field in str(caught.value)


def test_ok_false_is_an_error_with_zalos_code_and_transient_ones_are_retried(fake, caplog):
    api = ZaloBotApi(TOKEN, fake.url, retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02))
    fake.script("sendMessage", zalo_bot_error(429, "Quota exceeded", status=200))  # an error under HTTP 200
    with caplog.at_level(logging.DEBUG):
        assert api.send_message(USER, "xin chào")["message_id"]
    fake.script("sendMessage", zalo_bot_error(400, "Bad request", status=200))
    with pytest.raises(UpstreamError) as caught:
        api.send_message(USER, "xin chào")
    api.close()
    assert [c.body for c in fake.of("sendMessage")] == [{"chat_id": USER, "text": "xin chào"}] * 3
    assert caught.value.code == 400 and not caught.value.transient
    assert "error 429" in caplog.text and "/bot<token>/sendMessage" in caplog.text
    assert TOKEN.split(":")[1] not in caplog.text


@pytest.mark.parametrize("empty", [zalo_bot_error(408, "Request timeout"),
                                   zalo_bot_error(408, "Request timeout", status=200),
                                   Reply(200, {"ok": True, "result": None})])
def test_get_updates_reads_no_update_as_empty(fake, empty):
    api = ZaloBotApi(TOKEN, fake.url)
    fake.script("getUpdates", empty)
    fake.push(update("u1", "Xin chào")["result"])
    try:
        assert api.get_updates(0) == []
        assert [u["message"]["message_id"] for u in api.get_updates(0)] == ["u1"]
    finally:
        api.close()
    assert [c.body for c in fake.of("getUpdates")] == [{"timeout": "0"}] * 2  # a string, as documented


def test_set_webhook_sends_url_and_secret_token(fake, tmp_path):
    from click.testing import CliRunner

    from bot.cli import main

    env = {"ZALO_BOT_TOKEN": TOKEN, "ZALO_BOT_WEBHOOK_SECRET": SECRET, "ZALO_BOT_API_BASE": fake.url}
    run = CliRunner().invoke
    result = run(main, ["zalo-bot", "set-webhook", "https://chidao.example.vn", "--data-dir", str(tmp_path)], env=env)
    assert result.exit_code == 0, result.output
    [call] = fake.of("setWebhook")
    assert call.path == f"/bot{TOKEN}/setWebhook"
    assert call.body == {"url": "https://chidao.example.vn/webhooks/zalo-bot", "secret_token": SECRET}
    info = run(main, ["zalo-bot", "webhook-info", "--data-dir", str(tmp_path)], env=env)
    assert "https://chidao.example.vn/webhooks/zalo-bot" in info.output

    short = run(main, ["zalo-bot", "set-webhook", "https://x.vn", "--data-dir", str(tmp_path)],
                env={**env, "ZALO_BOT_WEBHOOK_SECRET": "short"})
    assert short.exit_code == 1 and "ZALO_BOT_WEBHOOK_SECRET" in short.output and "8–256" in short.output
    assert len(fake.of("setWebhook")) == 1

    assert run(main, ["zalo-bot", "delete-webhook", "--data-dir", str(tmp_path)], env=env).exit_code == 0
    assert fake.webhook == "" and len(fake.of("deleteWebhook")) == 1


def test_polling_while_a_webhook_is_set_stops_with_the_reason(fake, tmp_path):
    from bot.channels.history import ChannelStore
    from bot.channels.jobs import JobQueue
    from bot.channels.polling import PollerStopped
    from bot.channels.zalo_bot import ZaloBotChannel
    from bot.channels.zalo_bot_poll import WEBHOOK_SET, ZaloBotPoller

    fake.webhook = "https://chidao.example.vn/webhooks/zalo-bot"
    store = ChannelStore.in_dir(tmp_path)
    bot = ZaloBotChannel(ServiceProxy(None), store, JobQueue(store), ZaloBotApi(TOKEN, fake.url))
    try:
        with pytest.raises(PollerStopped) as caught:
            ZaloBotPoller(bot, timeout=0).run(once=True)
    finally:
        bot.close()
        store.close()
    assert caught.value.status == WEBHOOK_SET and fake.webhook in str(caught.value)
    assert fake.of("getUpdates") == []


# the live app


@pytest.mark.slow
def test_missing_or_wrong_secret_is_refused_without_a_reply(seeded_service, fake, tmp_path):
    with serve(seeded_service, tmp_path / "data", fake) as server:
        missing = post(server, update("s1", FINANCE, chat_id="chat-missing"), secret=None)
        wrong = post(server, update("s2", FINANCE, chat_id="chat-wrong"), secret=SECRET + "x")
        right = post(server, update("s3", "/help", chat_id="chat-right"))
        wait_drained(server, "zalo_bot")  # the refused ones were never queued
    assert missing.status_code == 401 and wrong.status_code == 401 and "bí mật" in wrong.json()["detail"]
    assert right.status_code == 200
    assert [c.body["chat_id"] for c in fake.of("sendMessage")] == ["chat-right"]


@pytest.mark.slow
def test_a_text_message_is_answered_with_typing_first(seeded_service, fake, tmp_path):
    spy = ServiceProxy(seeded_service)
    with serve(spy, tmp_path / "data", fake) as server:
        assert status(server) == {"configured": True, "queued": 0, "last_delivery": None, "last_error": None,
                                  "webhook_secret_set": True}
        first = post(server, update("a1", FINANCE))
        assert first.status_code == 200 and first.json() == {"message": "Success"}
        assert post(server, update("a1", FINANCE)).status_code == 200  # delivered again: answered once
        assert post(server, update("a2", "Còn Sở Tư pháp thì sao?", wrapped=False)).status_code == 200
        wait_drained(server, "zalo_bot")
        assert status(server)["last_delivery"] is not None
    answer, follow_up = fake.of("sendMessage")
    assert answer.body["chat_id"] == USER and answer.path == f"/bot{TOKEN}/sendMessage"
    text = answer.body["text"]
    assert "**" not in text and text.startswith(answer_text(spy.answers[0]).strip())
    check_sources(text, spy.answers[0])
    typing = fake.of("sendChatAction")
    assert typing[0].body == {"chat_id": USER, "action": "typing"} and typing[0].at < answer.at
    (q1, h1), (q2, h2) = spy.chats  # history per chat
    assert (q1, h1) == (FINANCE, []) and q2 == "Còn Sở Tư pháp thì sao?" and [t.content for t in h2][0] == FINANCE
    assert follow_up.body["chat_id"] == USER


@pytest.mark.slow
def test_a_long_answer_is_split_under_2000_characters(seeded_service, fake, tmp_path):
    base = seeded_service.chat(FINANCE)
    padded = ServiceProxy(seeded_service, repeat=2500 // len(base.answer) + 1)
    expected = plain_messages(dataclasses.replace(base, answer="\n\n".join([base.answer] * padded.repeat)))
    with serve(padded, tmp_path / "data", fake) as server:
        post(server, update("l1", FINANCE, chat_id="long"))
        wait_drained(server, "zalo_bot")
    texts = [c.body["text"] for c in fake.of("sendMessage")]
    assert len(padded.answers[0].answer) >= 2500 and len(texts) >= 2
    assert texts == expected and all(len(t) <= 2000 for t in texts)  # the fake refuses longer ones too
    assert {c.body["chat_id"] for c in fake.of("sendMessage")} == {"long"}
    check_cut_at_line_ends(texts, PLAIN.render(reply_runs(padded.answers[0])))


@pytest.mark.slow
def test_ok_false_429_is_retried_then_delivered_and_other_errors_logged_with_the_code(seeded_service, fake, tmp_path):
    fake.script("sendMessage", zalo_bot_error(429, "Quota exceeded", status=200))
    with serve(seeded_service, tmp_path / "data", fake, tune=quick_retries) as server:
        post(server, update("r1", FINANCE, chat_id="busy"))
        wait_drained(server, "zalo_bot")
        refused, delivered = fake.of("sendMessage")
        assert refused.body == delivered.body and delivered.body["chat_id"] == "busy"
        assert status(server)["last_error"] is None and status(server)["last_delivery"]

        fake.script("sendMessage", zalo_bot_error(403, "Forbidden", status=200))
        post(server, update("r2", "/help", chat_id="blocked"))
        wait_drained(server, "zalo_bot")
        error = status(server)["last_error"]
    assert [c.body["chat_id"] for c in fake.of("sendMessage")] == ["busy", "busy", "blocked"]  # not retried
    assert error["code"] == 403 and "Forbidden" in error["message"]


@pytest.mark.slow
def test_hostile_bodies_get_a_4xx_and_old_or_group_messages_no_reply(seeded_service, fake, tmp_path):
    deep = b"[" * 2000 + b"]" * 2000
    headers = {"Content-Type": "application/json", SECRET_HEADER: SECRET}
    with serve(seeded_service, tmp_path / "data", fake) as server:
        url = server.url + "/webhooks/zalo-bot"
        nested = httpx.post(url, content=b'{"ok": true, "result": ' + deep + b"}", headers=headers)
        deep_unsigned = httpx.post(url, content=deep, headers={"Content-Type": "application/json"})
        huge = httpx.post(url, content=b"[" * (600 * 1024), headers=headers, timeout=10)
        not_json = httpx.post(url, content=b"\xff\xfe{", headers=headers)
        old = post(server, update("h1", FINANCE, chat_id="old", date=1700000000000))  # 2023
        group = post(server, update("h2", FINANCE, chat_id="group", chat_type="GROUP"))
        assert post(server, update("h3", "/help", chat_id="fine")).status_code == 200
        wait_drained(server, "zalo_bot")
        assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    assert nested.status_code == 400 and "sâu" in nested.json()["detail"]
    assert deep_unsigned.status_code == 401 and huge.status_code == 413 and not_json.status_code == 400
    assert old.status_code == 200 and group.status_code == 200  # acknowledged, so Zalo does not re-send
    assert [c.body["chat_id"] for c in fake.of("sendMessage")] == ["fine"]


@pytest.mark.slow
def test_polling_with_get_updates_answers_every_waiting_message(copy_of_seeded, fake):
    fake.push(update("p1", FINANCE, chat_id="one")["result"], update("p2", "/help", chat_id="two")["result"],
              update("p1", FINANCE, chat_id="one")["result"])  # handed out twice: answered once
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ZALO_BOT_TOKEN": TOKEN, "ZALO_BOT_API_BASE": fake.url,
           "ZALO_BOT_WEBHOOK_SECRET": "", "TELEGRAM_BOT_TOKEN": ""}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "zalo-bot", "poll", "--once", "--timeout", "0",
                             "--data-dir", str(copy_of_seeded)], capture_output=True, text=True, env=env, cwd=ROOT,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert fake.of("getWebhookInfo")[0].at < fake.of("getUpdates")[0].at
    assert [c.body for c in fake.of("getUpdates")] == [{"timeout": "0"}] * 4  # three updates, then none
    sent = fake.of("sendMessage")
    assert sorted(c.body["chat_id"] for c in sent) == ["one", "two"]
    [finance] = [c for c in sent if c.body["chat_id"] == "one"]
    assert "phân bổ kinh phí" in finance.body["text"]
