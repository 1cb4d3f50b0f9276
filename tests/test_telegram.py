"""Telegram: a fake Bot API on loopback, the real app on uvicorn, real updates over HTTP."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.channels.formatting import (
    PLAIN,
    TELEGRAM_HTML,
    Run,
    html_to_plain,
    parse_markdown,
    reply_runs,
    split_runs,
    telegram_messages,
    utf16_len,
)
from bot.channels.http import RetryPolicy
from bot.channels.telegram import SECRET_HEADER
from bot.service import Turn
from tests.conftest import ROOT, LiveServer
from tests.fake_messaging import (
    FakeTelegram,
    Reply,
    ServiceProxy,
    answer_text,
    check_cut_at_line_ends,
    check_sources,
    check_telegram_html,
    serve_channels,
    telegram_error,
    wait_drained,
)

TOKEN = "123456:TEST-token_abc"
SECRET = "s3cret-Token_1"
FINANCE = "Sở Tài chính có nhiệm vụ gì?"


def update(update_id: int, text: str | None, chat_id: int = 555, message_id: int = 7,
           chat_type: str = "private") -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": message_id, "date": 1767225600,
                               "chat": {"id": chat_id, "type": chat_type}, "from": {"id": chat_id, "is_bot": False}}
    if text is not None:
        message["text"] = text
    else:
        message["photo"] = [{"file_id": "x", "file_unique_id": "y", "width": 1, "height": 1}]
    return {"update_id": update_id, "message": message}


def post(server: LiveServer, body: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return httpx.post(server.url + "/webhooks/telegram", json=body, headers=headers, timeout=10)


@pytest.fixture()
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as api:
        yield api


BOT_ID = int(TOKEN.split(":")[0])
GROUP = -1001234567890


def entities_of(text: str) -> list[dict[str, Any]]:
    """The entities Telegram attaches: a leading /command, and each @username (offsets in UTF-16 units)."""
    import re

    def units(part: str) -> int:
        return len(part.encode("utf-16-le")) // 2

    found = [{"type": "bot_command", "offset": 0, "length": units(m.group())}
             for m in re.finditer(r"^/\w+(?:@\w+)?", text)]
    found += [{"type": "mention", "offset": units(text[:m.start()]), "length": units(m.group())}
              for m in re.finditer(r"(?<![\w/])@\w{5,}", text)]
    return sorted(found, key=lambda e: e["offset"])


def group_update(update_id: int, text: str | None, *, user_id: int = 42, message_id: int = 7,
                 chat_id: int = GROUP, reply_to: int | None = None) -> dict[str, Any]:
    """A message in a supergroup, from ``user_id``; ``reply_to``: the author of the message it answers."""
    message: dict[str, Any] = {"message_id": message_id, "date": 1767225600, "from": {"id": user_id, "is_bot": False,
                                                                                     "first_name": "Cán bộ"},
                               "chat": {"id": chat_id, "type": "supergroup", "title": "Công an xã"}}
    if text is not None:
        message["text"] = text
        if entities_of(text):
            message["entities"] = entities_of(text)
    if reply_to is not None:
        message["reply_to_message"] = {"message_id": message_id - 1, "date": 1767225500, "text": "…",
                                       "chat": message["chat"], "from": {"id": reply_to, "is_bot": reply_to == BOT_ID,
                                                                         "first_name": "x"}}
    return {"update_id": update_id, "message": message}


def serve(service: Any, data_dir: Path, fake: FakeTelegram, tune: Callable[[Any], None] | None = None,
          **settings: Any) -> AbstractContextManager[LiveServer]:
    values = {"telegram_bot_token": TOKEN, "telegram_webhook_secret": SECRET, "telegram_api_base": fake.url,
              "zalo_app_id": None, "zalo_oa_secret": None, "zalo_access_token": None, **settings}
    return serve_channels(service, data_dir, values, tune)


def quick_retries(attempts: int = 3, timeout: float | None = None, job_attempts: int = 5) -> Callable[[Any], None]:
    """Retries without the production pauses: ``attempts`` per call, ``job_attempts`` per queued reply."""

    def tune(channels: Any) -> None:
        channels.telegram.api.client.retry = RetryPolicy(attempts=attempts, base_delay=0.1, max_delay=0.2)
        channels.dispatchers["telegram"].attempts = job_attempts
        channels.dispatchers["telegram"].retry_delay = 0.05
        if timeout:
            channels.telegram.api.client.timeout = timeout

    return tune


# formatting, without a server


def test_markdown_answer_becomes_escaped_html():
    runs = parse_markdown("Theo **Công văn 77/CV-PC06**, mục *1 › a) A & B*: “tỷ lệ > 90% <ngay>” [1]")
    html = TELEGRAM_HTML.render(runs)
    assert html == ("Theo <b>Công văn 77/CV-PC06</b>, mục <i>1 › a) A &amp; B</i>: "
                    "“tỷ lệ &gt; 90% &lt;ngay&gt;” [1]")
    check_telegram_html(html)


def test_split_cuts_at_line_then_sentence_boundaries():
    sentence = "Công an xã tuần tra chợ phiên & báo cáo <kết quả> hằng tuần. "
    paragraph = (sentence * 30).strip()
    text = "\n".join([paragraph] * 3)
    messages = split_runs(parse_markdown(text), 1000, TELEGRAM_HTML)
    assert len(messages) > 3
    for message in messages:
        assert utf16_len(message) <= 1000
        assert message.endswith("tuần."), message[-30:]
        check_telegram_html(message)
    joined = " ".join(messages).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert joined.split() == text.split()


def test_split_closes_and_reopens_a_style_cut_in_two():
    messages = split_runs([Run("Mở đầu. "), Run("chữ đậm rất dài " * 100, "b"), Run("Kết.")], 600, TELEGRAM_HTML)
    assert len(messages) >= 3
    for message in messages:
        assert utf16_len(message) <= 600
        check_telegram_html(message)
    assert all(m.startswith("<b>") for m in messages[1:-1])


def test_webhook_url_gets_the_route_when_only_the_host_is_given():
    from bot.cli_channels import webhook_url

    assert webhook_url("https://chidao.example.vn") == "https://chidao.example.vn/webhooks/telegram"
    assert webhook_url("https://chidao.example.vn/") == "https://chidao.example.vn/webhooks/telegram"
    assert webhook_url("https://x.vn/hook/tg") == "https://x.vn/hook/tg"


def test_set_webhook_sends_the_secret(fake, tmp_path):
    from click.testing import CliRunner

    from bot.cli import main

    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET, "TELEGRAM_API_BASE": fake.url}
    result = CliRunner().invoke(main, ["telegram", "set-webhook", "https://chidao.example.vn",
                                       "--data-dir", str(tmp_path)], env=env)
    assert result.exit_code == 0, result.output
    [call] = fake.of("setWebhook")
    assert fake.token_of(call) == TOKEN
    assert call.body["url"] == "https://chidao.example.vn/webhooks/telegram"
    assert call.body["secret_token"] == SECRET and call.body["allowed_updates"] == ["message"]
    [commands] = fake.of("setMyCommands")  # the menu Telegram shows for "/"
    assert [c["command"] for c in commands.body["commands"]] == ["hoi", "help", "start"]
    assert all(c["description"] for c in commands.body["commands"])

    bad = CliRunner().invoke(main, ["telegram", "set-webhook", "https://x.vn", "--data-dir", str(tmp_path)],
                             env={**env, "TELEGRAM_WEBHOOK_SECRET": "có dấu cách"})
    assert bad.exit_code == 1 and "TELEGRAM_WEBHOOK_SECRET" in bad.output
    assert len(fake.of("setWebhook")) == 1


ME = {"id": BOT_ID, "is_bot": True, "username": "chidao_bot"}


@pytest.mark.parametrize(("text", "reply_to", "expected"), [
    ("@chidao_bot Sở Y tế có nhiệm vụ gì?", None, ("question", "Sở Y tế có nhiệm vụ gì?", "")),
    ("Cho hỏi @CHIDAO_BOT: Sở Y tế?", None, ("question", "Cho hỏi : Sở Y tế?", "")),
    ("🙂 @chidao_bot, Sở Y tế?", None, ("question", "🙂 , Sở Y tế?", "")),  # offsets in UTF-16 units
    ("@chidao_bot", None, ("command", "", "help")),
    ("Sở Y tế có nhiệm vụ gì?", None, None),
    ("@chidao_bot_fan Sở Y tế?", None, None),
    ("Còn Sở Tư pháp?", BOT_ID, ("question", "Còn Sở Tư pháp?", "")),
    ("Còn Sở Tư pháp?", 99, None),
    ("/hoi Sở Y tế?", None, ("command", "Sở Y tế?", "hoi")),
    ("/hoi@chidao_bot Sở Y tế?", None, ("command", "Sở Y tế?", "hoi")),
    ("/HELP@ChiDao_Bot", None, ("command", "", "help")),
    ("/help@otherbot", None, None),
    ("/weather", None, None),
    (None, BOT_ID, None),
])
def test_group_messages_are_read_only_when_addressed_to_the_bot(text, reply_to, expected):
    from bot.channels.telegram import parse_update
    from bot.channels.telegram_group import read_addressed

    inbound = parse_update(group_update(1, text, reply_to=reply_to))
    request = read_addressed(inbound, ME) if inbound else None
    assert (request and (request.kind, request.text, request.command)) == expected


def test_a_reply_held_by_a_killed_process_is_sent_at_the_next_start(fake, tmp_path):
    from bot.channels.dispatch import Dispatcher
    from bot.channels.history import ChannelStore
    from bot.channels.jobs import JobQueue
    from bot.channels.telegram import TelegramApi, TelegramBot, parse_update

    store = ChannelStore.in_dir(tmp_path)
    queue = JobQueue(store)
    inbound = parse_update(update(801, "/help", chat_id=8))
    assert inbound and queue.put("telegram", inbound.delivery, inbound.chat_id, inbound.to_json())
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    assert queue.take("telegram", f"{killed.pid}-0badcafe", lease=3600)  # then the process died
    bot = TelegramBot(ServiceProxy(None), store, queue, TelegramApi(TOKEN, fake.url))
    dispatcher = Dispatcher(bot, queue).start()
    try:
        assert dispatcher.drain(timeout=30)
    finally:
        dispatcher.close()
        bot.close()
        store.close()
    [sent] = fake.of("sendMessage")
    assert sent.body["chat_id"] == 8 and "Hướng dẫn" in sent.body["text"]


def test_the_bot_token_never_reaches_the_logs(fake, caplog):
    import logging

    from bot.channels.telegram import TelegramApi

    fake.script("sendMessage", telegram_error(500, "Internal Server Error"))
    api = TelegramApi(TOKEN, fake.url, retry=RetryPolicy(attempts=2, base_delay=0.01))
    with caplog.at_level(logging.DEBUG):
        api.send_message(1, "xin chào")
    api.close()
    assert len(fake.of("sendMessage")) == 2
    assert "/bot<token>/sendMessage" in caplog.text and "retrying" in caplog.text
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text


# the live app


@pytest.mark.slow
def test_webhook_acknowledges_at_once_and_answers_with_citations(seeded_service, fake, tmp_path):
    slow = ServiceProxy(seeded_service, delay=2.0)
    with serve(slow, tmp_path / "data", fake) as server:
        started = time.monotonic()
        r = post(server, update(1001, FINANCE, chat_id=4242, message_id=77))
        assert r.status_code == 200 and r.json() == {"ok": True}
        assert time.monotonic() - started < 1.5  # the 2 s answer runs after the acknowledgement
        [call] = fake.wait_for("sendMessage", 1)
    assert fake.token_of(call) == TOKEN
    body = call.body
    assert body["chat_id"] == 4242 and body["parse_mode"] == "HTML"
    assert body["reply_parameters"]["message_id"] == 77
    text = body["text"]
    check_telegram_html(text)
    [answer] = slow.answers
    assert answer.answered and "**" not in text and "<b>Nguồn trích dẫn:</b>" in text
    assert html_to_plain(text).startswith(answer_text(answer).strip())
    check_sources(html_to_plain(text), answer)
    assert (tmp_path / "data" / "channels.sqlite3").is_file()


@pytest.mark.slow
def test_missing_or_wrong_secret_is_refused_without_a_reply(seeded_service, fake, tmp_path):
    with serve(seeded_service, tmp_path / "data", fake) as server:
        assert post(server, update(2001, FINANCE, chat_id=1), secret=None).status_code == 401
        wrong = post(server, update(2002, FINANCE, chat_id=2), secret="not-the-secret")
        assert wrong.status_code == 401 and "bí mật" in wrong.json()["detail"]
        assert post(server, update(2003, "/help", chat_id=3)).status_code == 200
        wait_drained(server, "telegram")  # refused updates were never queued
    assert [c.body["chat_id"] for c in fake.of("sendMessage")] == [3]


@pytest.fixture(scope="module")
def escaping_service(seeded_dir, e5, tmp_path_factory):
    """The samples plus a công văn whose title and text hold <, > and &."""
    from bot.settings import Settings
    from bot.wiring import build_indexer, build_service, build_store

    data = tmp_path_factory.mktemp("escaping") / "data"
    shutil.copytree(seeded_dir, data)
    doc = data.parent / "077_camera.txt"
    doc.write_text(
        "CÔNG AN TỈNH LÀO CAI\nPHÒNG PC06\n\nSố: 77/CV-PC06\nLào Cai, ngày 20 tháng 01 năm 2026\n\nCÔNG VĂN\n"
        "V/v kiểm tra hệ thống <camera> & chuông báo động tại chợ đêm Kim Tân\n\n"
        "1. Đối với Đội Cảnh sát PCCC & CNCH\nKiểm tra toàn bộ camera giám sát và chuông báo động tại chợ đêm "
        "Kim Tân, bảo đảm tỷ lệ camera hoạt động > 90% và báo cáo kết quả trước ngày 15/02/2026 qua hộp thư "
        "<pc06@congan.laocai> của Phòng.\n\n2. Đối với Công an phường Kim Tân\n"
        "Phối hợp với Ban quản lý chợ đêm rà soát các điểm mù camera.\n",
        encoding="utf-8",
    )
    settings = Settings(data_dir=data)
    store = build_store(settings, e5)
    assert build_indexer(settings, store).ingest_file(doc).ok
    return build_service(settings, store)


@pytest.mark.slow
def test_document_text_is_html_escaped(escaping_service, fake, tmp_path):
    with serve(escaping_service, tmp_path / "data", fake) as server:
        post(server, update(3001, "Báo cáo kiểm tra camera chợ đêm Kim Tân gửi vào hộp thư nào?"))
        [call] = fake.wait_for("sendMessage", 1)
    text = call.body["text"]
    check_telegram_html(text)
    assert "&lt;pc06@congan.laocai&gt;" in text and "tỷ lệ camera hoạt động &gt; 90%" in text
    assert "PCCC &amp; CNCH" in text
    assert "<b>Công văn – V/v kiểm tra hệ thống &lt;camera&gt; &amp; chuông báo động" in text
    assert "Số hiệu: 77/CV-PC06" in text


@pytest.mark.slow
def test_long_answer_is_split_under_the_limit_at_boundaries(seeded_service, fake, tmp_path):
    base = seeded_service.chat(FINANCE)
    padded = ServiceProxy(seeded_service, repeat=3 * 4096 // len(base.answer) + 1)
    expected = telegram_messages(dataclasses.replace(base, answer="\n\n".join([base.answer] * padded.repeat)))
    with serve(padded, tmp_path / "data", fake) as server:
        post(server, update(4001, FINANCE, chat_id=99, message_id=5))
        wait_drained(server, "telegram")
    calls = fake.of("sendMessage")
    texts = [c.body["text"] for c in calls]
    assert texts == expected
    assert len(texts) >= 3 and {c.body["chat_id"] for c in calls} == {99}
    assert "reply_parameters" in calls[0].body and all("reply_parameters" not in c.body for c in calls[1:])
    for text in texts:
        assert utf16_len(text) <= 4096
        check_telegram_html(text)
    check_cut_at_line_ends([html_to_plain(t) for t in texts], PLAIN.render(reply_runs(padded.answers[0])))
    assert "Nguồn trích dẫn:" in texts[-1] and all("Nguồn trích dẫn:" not in t for t in texts[:-1])


@pytest.mark.slow
def test_start_and_help_are_answered_in_vietnamese(seeded_service, fake, tmp_path):
    spy = ServiceProxy(seeded_service)
    with serve(spy, tmp_path / "data", fake) as server:
        post(server, update(5001, "/start", chat_id=10))
        [start] = fake.wait_for("sendMessage", 1)
        post(server, update(5002, "/help@chidao_bot", chat_id=10))
        help_ = fake.wait_for("sendMessage", 2)[1]
        post(server, update(5003, None, chat_id=10))  # a photo
        photo = fake.wait_for("sendMessage", 3)[2]
    assert "Xin chào" in start.body["text"] and "/help" in start.body["text"]
    assert "<b>Hướng dẫn sử dụng chidao</b>" in help_.body["text"]
    assert "văn bản" in photo.body["text"]
    assert spy.chats == []


@pytest.mark.slow
def test_follow_up_questions_carry_the_chat_history(seeded_service, fake, tmp_path):
    spy = ServiceProxy(seeded_service)
    second = "Còn Sở Tư pháp thì sao?"
    with serve(spy, tmp_path / "data", fake) as server:
        post(server, update(6001, FINANCE, chat_id=1))
        first = fake.wait_for("sendMessage", 1)[0]
        post(server, update(6002, second, chat_id=1))
        fake.wait_for("sendMessage", 2)
        post(server, update(6003, FINANCE, chat_id=2))
        fake.wait_for("sendMessage", 3)
        post(server, update(6004, "/start", chat_id=1))
        fake.wait_for("sendMessage", 4)
        post(server, update(6005, second, chat_id=1))
        fake.wait_for("sendMessage", 5)
    assert first.body["chat_id"] == 1
    (q1, h1), (q2, h2), (q3, h3), (q4, h4) = spy.chats
    assert (q1, h1) == (FINANCE, [])
    assert q2 == second and h2 == [Turn("user", FINANCE), Turn("assistant", spy.answers[0].answer)]
    assert h3 == []  # another chat
    assert h4 == []  # /start began a new conversation


@pytest.mark.slow
def test_a_redelivered_update_is_answered_once(seeded_service, fake, tmp_path):
    with serve(seeded_service, tmp_path / "data", fake) as server:
        assert post(server, update(7001, FINANCE, chat_id=1)).status_code == 200
        assert post(server, update(7001, FINANCE, chat_id=1)).status_code == 200
        assert post(server, update(7002, FINANCE, chat_id=2)).status_code == 200
        wait_drained(server, "telegram")  # the repeat was refused on arrival
    assert sorted(c.body["chat_id"] for c in fake.of("sendMessage")) == [1, 2]


@pytest.mark.slow
def test_429_waits_as_long_as_telegram_says(seeded_service, fake, tmp_path):
    fake.script("sendMessage", telegram_error(429, "Too Many Requests: retry after 1", retry_after=1))
    with serve(seeded_service, tmp_path / "data", fake) as server:
        post(server, update(8001, FINANCE, chat_id=8))
        wait_drained(server, "telegram")
        first, second = fake.of("sendMessage")
    assert second.at - first.at >= 1.0
    assert first.body == second.body and len(fake.of("sendMessage")) == 2


@pytest.mark.slow
def test_5xx_is_retried_then_given_up_and_nothing_else_suffers(seeded_service, fake, tmp_path):
    fake.script("sendMessage", *[telegram_error(500, "Internal Server Error")] * 3)
    with serve(seeded_service, tmp_path / "data", fake, tune=quick_retries(attempts=3, job_attempts=1)) as server:
        post(server, update(9001, FINANCE, chat_id=1))
        wait_drained(server, "telegram")
        attempts = fake.of("sendMessage")
        assert len(attempts) == 3  # given up
        assert httpx.get(server.url + "/healthz").status_code == 200
        chat = httpx.post(server.url + "/api/chat", json={"message": FINANCE}, timeout=60)
        assert chat.status_code == 200 and chat.json()["answered"] is True
        post(server, update(9002, FINANCE, chat_id=2))
        later = fake.wait_for("sendMessage", 4)[3]
    assert {c.body["chat_id"] for c in attempts} == {1}
    assert later.body["chat_id"] == 2


@pytest.mark.slow
def test_a_timed_out_call_is_retried(seeded_service, fake, tmp_path):
    fake.script("sendMessage", Reply(200, {"ok": True, "result": {}}, delay=3.0))
    with serve(seeded_service, tmp_path / "data", fake, tune=quick_retries(attempts=2, timeout=1.0)) as server:
        post(server, update(10001, FINANCE, chat_id=5))
        first, second = fake.wait_for("sendMessage", 2)
    assert 0.9 <= second.at - first.at < 3.0 and first.body == second.body


@pytest.mark.slow
def test_html_refused_by_telegram_is_resent_as_plain_text(seeded_service, fake, tmp_path):
    fake.script("sendMessage", telegram_error(400, "Bad Request: can't parse entities: unexpected end tag"))
    with serve(seeded_service, tmp_path / "data", fake) as server:
        post(server, update(11001, FINANCE, chat_id=6))
        html_try, plain = fake.wait_for("sendMessage", 2)
    assert html_try.body["parse_mode"] == "HTML" and "parse_mode" not in plain.body
    assert "<b>" not in plain.body["text"] and "Nguồn trích dẫn:" in plain.body["text"]


# long polling, as the command runs it


def poll(data_dir: Path, fake: FakeTelegram) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE": fake.url,
           "TELEGRAM_WEBHOOK_SECRET": ""}
    return subprocess.run([sys.executable, "-m", "bot.cli", "telegram", "poll", "--once", "--timeout", "0",
                           "--data-dir", str(data_dir)], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=300)


@pytest.mark.slow
def test_polling_keeps_its_offset_across_a_restart(copy_of_seeded, fake):
    fake.push(update(500, FINANCE, chat_id=1), update(501, "/help", chat_id=2))
    first = poll(copy_of_seeded, fake)
    assert first.returncode == 0, first.stderr
    assert [c.body.get("offset") for c in fake.of("getUpdates")] == [None]
    assert sorted(c.body["chat_id"] for c in fake.of("sendMessage")) == [1, 2]  # chats answered concurrently
    [finance] = [c for c in fake.of("sendMessage") if c.body["chat_id"] == 1]
    assert "phân bổ kinh phí" in finance.body["text"]
    assert len(fake.of("setMyCommands")) == 1 and fake.of("setMyCommands")[0].at < fake.of("getUpdates")[0].at

    fake.push(update(502, FINANCE, chat_id=3))
    second = poll(copy_of_seeded, fake)  # a new process: the offset comes from the data directory
    assert second.returncode == 0, second.stderr
    assert [c.body.get("offset") for c in fake.of("getUpdates")] == [None, 502]
    assert sorted(c.body["chat_id"] for c in fake.of("sendMessage")) == [1, 2, 3]


@pytest.mark.slow
def test_polling_while_a_webhook_is_set_stops_with_advice(copy_of_seeded, fake):
    fake.script("getUpdates", telegram_error(409, "Conflict: can't use getUpdates method while webhook is active"))
    result = poll(copy_of_seeded, fake)
    assert result.returncode == 1
    assert "delete-webhook" in result.stderr and fake.of("sendMessage") == []


@pytest.mark.slow
def test_polling_answers_chats_concurrently_in_order_within_a_chat(seeded_service, fake, tmp_path):
    from bot.channels.hub import build_channels
    from bot.channels.telegram_poll import TelegramPoller
    from bot.settings import Settings

    gate = threading.Event()
    stuck = ServiceProxy(seeded_service, gate=gate)
    settings = Settings(data_dir=tmp_path / "data", telegram_bot_token=TOKEN, telegram_api_base=fake.url)
    channels = build_channels(settings, stuck, only=("telegram",))
    try:
        fake.push(update(601, FINANCE, chat_id=1, message_id=1), update(602, "/help", chat_id=1, message_id=2),
                  update(603, "/help", chat_id=2, message_id=3))
        TelegramPoller(channels.telegram, timeout=0).run(once=True)
        [other] = fake.wait_for("sendMessage", 1)  # chat 2 is answered while chat 1 waits on the service
        assert other.body["chat_id"] == 2 and not gate.is_set()
        stuck.wait_for_chats(1)
        assert [c.body["chat_id"] for c in fake.of("sendMessage")] == [2]  # chat 1's /help waits its turn
        gate.set()
        assert channels.dispatchers["telegram"].drain(timeout=60)
    finally:
        gate.set()
        channels.close()
    chat_1 = [c.body["reply_parameters"]["message_id"] for c in fake.of("sendMessage")
              if c.body["chat_id"] == 1 and "reply_parameters" in c.body]
    assert chat_1 == [1, 2]


# groups


@pytest.mark.slow
def test_group_mention_is_stripped_and_answered(seeded_service, fake, tmp_path):
    spy = ServiceProxy(seeded_service)
    with serve(spy, tmp_path / "data", fake) as server:
        assert post(server, group_update(701, "@chidao_bot " + FINANCE, message_id=11)).status_code == 200
        assert post(server, group_update(702, "@ChiDao_Bot, còn Sở Tư pháp thì sao?", message_id=12)).status_code == 200
        wait_drained(server, "telegram")
    assert [q for q, _ in spy.chats] == [FINANCE, "còn Sở Tư pháp thì sao?"]  # the mention was never searched
    assert spy.answers[0].answered
    first = fake.of("sendMessage")[0]
    assert first.body["chat_id"] == GROUP and first.body["reply_parameters"]["message_id"] == 11
    assert "phân bổ kinh phí" in first.body["text"]
    assert len(fake.of("getMe")) == 1  # the bot's name is asked once


@pytest.mark.slow
def test_a_plain_group_message_is_not_answered(seeded_service, fake, tmp_path):
    spy = ServiceProxy(seeded_service)
    with serve(spy, tmp_path / "data", fake) as server:
        post(server, group_update(711, FINANCE, message_id=21))
        post(server, group_update(712, "Hỏi @someone_else về " + FINANCE, message_id=22))
        post(server, group_update(713, None, message_id=23))  # a photo
        post(server, group_update(714, "/help", message_id=24))  # the same chat: answered after the three
        wait_drained(server, "telegram")
    [reply] = fake.of("sendMessage")
    assert reply.body["reply_parameters"]["message_id"] == 24 and spy.chats == []


@pytest.mark.slow
def test_a_command_for_another_bot_is_ignored(seeded_service, fake, tmp_path):
    spy = ServiceProxy(seeded_service)
    with serve(spy, tmp_path / "data", fake) as server:
        for i, text in enumerate(["/help@otherbot", "/start@another_bot", "/x@otherbot " + FINANCE, "/weather",
                                  "/help@chidao_bot", "/hoi@chidao_bot " + FINANCE, "/hoi " + FINANCE]):
            assert post(server, group_update(720 + i, text, message_id=30 + i)).status_code == 200
        assert post(server, update(730, "/x@otherbot", chat_id=77)).status_code == 200  # in a private chat too
        wait_drained(server, "telegram")
    answered = [c.body["reply_parameters"]["message_id"] for c in fake.of("sendMessage")]
    assert answered == [34, 35, 36]
    assert [q for q, _ in spy.chats] == [FINANCE, FINANCE]
    assert "<b>Hướng dẫn sử dụng chidao</b>" in fake.of("sendMessage")[0].body["text"]


@pytest.mark.slow
def test_a_reply_to_the_bot_is_answered_and_group_history_is_per_user(seeded_service, fake, tmp_path):
    spy = ServiceProxy(seeded_service)
    follow_up = "Còn Sở Tư pháp thì sao?"
    with serve(spy, tmp_path / "data", fake) as server:
        post(server, group_update(741, "@chidao_bot " + FINANCE, user_id=1, message_id=41))
        post(server, group_update(742, follow_up, user_id=2, message_id=43, reply_to=BOT_ID))
        post(server, group_update(743, follow_up, user_id=1, message_id=45, reply_to=BOT_ID))
        post(server, group_update(744, follow_up, user_id=1, message_id=47, reply_to=99))  # a reply to someone else
        wait_drained(server, "telegram")
    (q1, h1), (q2, h2), (q3, h3) = spy.chats
    assert (q1, h1) == (FINANCE, [])
    assert q2 == follow_up and h2 == []  # user 2 has no conversation yet
    assert q3 == follow_up and h3 == [Turn("user", FINANCE), Turn("assistant", spy.answers[0].answer)]


@pytest.mark.slow
def test_typing_action_is_sent_before_the_reply(seeded_service, fake, tmp_path):
    with serve(seeded_service, tmp_path / "data", fake) as server:
        post(server, update(751, FINANCE, chat_id=51))
        post(server, group_update(752, "@chidao_bot " + FINANCE, message_id=53))
        wait_drained(server, "telegram")
    for chat in (51, GROUP):
        typing = [c for c in fake.of("sendChatAction") if c.body["chat_id"] == chat]
        [reply] = [c for c in fake.of("sendMessage") if c.body["chat_id"] == chat]
        assert typing and typing[0].body["action"] == "typing" and typing[0].at < reply.at


# hostile bodies


@pytest.mark.slow
def test_finding_10_telegram_chat_id_must_be_int(seeded_service, fake, tmp_path):
    with serve(seeded_service, tmp_path / "data", fake) as server:
        listed = update(761, "/help", chat_id=5)
        listed["message"]["chat"]["id"] = [1]
        as_text = update(762, "/help", chat_id=5)
        as_text["message"]["chat"]["id"] = "1"
        as_bool = update(763, "/help", chat_id=5)
        as_bool["message"]["chat"]["id"] = True
        odd_update = {**update(764, "/help", chat_id=5), "update_id": "764"}
        refused = [post(server, body) for body in (listed, as_text, as_bool, odd_update)]
        assert post(server, update(765, "/help", chat_id=5)).status_code == 200
        wait_drained(server, "telegram")
    assert [r.status_code for r in refused] == [400] * 4
    assert "message.chat.id" in refused[0].json()["detail"] and "số nguyên" in refused[0].json()["detail"]
    assert [c.body["chat_id"] for c in fake.of("sendMessage")] == [5]


@pytest.mark.slow
def test_finding_1_deep_json_webhook_is_4xx(seeded_service, fake, tmp_path):
    deep = b"[" * 2000 + b"]" * 2000
    headers = {"Content-Type": "application/json", SECRET_HEADER: SECRET}
    with serve(seeded_service, tmp_path / "data", fake) as server:
        url = server.url + "/webhooks/telegram"
        with_secret = httpx.post(url, content=deep, headers=headers)
        nested = httpx.post(url, content=b'{"update_id": 1, "message": ' + deep + b"}", headers=headers)
        without_secret = httpx.post(url, content=deep, headers={"Content-Type": "application/json"})
        huge = httpx.post(url, content=b"[" * (600 * 1024), headers=headers, timeout=10)
        not_json = httpx.post(url, content=b"\xff\xfe{", headers=headers)
        assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    assert with_secret.status_code == 400 and nested.status_code == 400 and "sâu" in nested.json()["detail"]
    assert without_secret.status_code == 401 and huge.status_code == 413 and not_json.status_code == 400
