"""Telegram: a fake Bot API on loopback, the real app on uvicorn, real updates over HTTP."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
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


def serve(service: Any, data_dir: Path, fake: FakeTelegram, tune: Callable[[Any], None] | None = None,
          **settings: Any) -> AbstractContextManager[LiveServer]:
    values = {"telegram_bot_token": TOKEN, "telegram_webhook_secret": SECRET, "telegram_api_base": fake.url,
              "zalo_app_id": None, "zalo_oa_secret": None, "zalo_access_token": None, **settings}
    return serve_channels(service, data_dir, values, tune and (lambda channels: tune(channels.telegram)))


def quick_retries(attempts: int = 3, timeout: float | None = None) -> Callable[[Any], None]:
    def tune(bot: Any) -> None:
        bot.api.client.retry = RetryPolicy(attempts=attempts, base_delay=0.1, max_delay=0.2)
        if timeout:
            bot.api.client.timeout = timeout

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

    bad = CliRunner().invoke(main, ["telegram", "set-webhook", "https://x.vn", "--data-dir", str(tmp_path)],
                             env={**env, "TELEGRAM_WEBHOOK_SECRET": "có dấu cách"})
    assert bad.exit_code == 1 and "TELEGRAM_WEBHOOK_SECRET" in bad.output
    assert len(fake.of("setWebhook")) == 1


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
        assert post(server, update(2003, FINANCE, chat_id=3)).status_code == 200  # the barrier
        fake.wait_for("sendMessage", 1)
        time.sleep(0.5)
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
        fake.wait_for("sendMessage", len(expected))
        time.sleep(1.0)
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
        fake.wait_for("sendMessage", 2)
        time.sleep(0.5)
    assert sorted(c.body["chat_id"] for c in fake.of("sendMessage")) == [1, 2]


@pytest.mark.slow
def test_429_waits_as_long_as_telegram_says(seeded_service, fake, tmp_path):
    fake.script("sendMessage", telegram_error(429, "Too Many Requests: retry after 1", retry_after=1))
    with serve(seeded_service, tmp_path / "data", fake) as server:
        post(server, update(8001, FINANCE, chat_id=8))
        first, second = fake.wait_for("sendMessage", 2)
        time.sleep(0.3)
    assert second.at - first.at >= 1.0
    assert first.body == second.body and len(fake.of("sendMessage")) == 2


@pytest.mark.slow
def test_5xx_is_retried_then_given_up_and_nothing_else_suffers(seeded_service, fake, tmp_path):
    fake.script("sendMessage", *[telegram_error(500, "Internal Server Error")] * 3)
    with serve(seeded_service, tmp_path / "data", fake, tune=quick_retries(attempts=3)) as server:
        post(server, update(9001, FINANCE, chat_id=1))
        attempts = fake.wait_for("sendMessage", 3)
        time.sleep(0.8)
        assert len(fake.of("sendMessage")) == 3  # given up
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
    assert [c.body["chat_id"] for c in fake.of("sendMessage")] == [1, 2]
    assert "phân bổ kinh phí" in fake.of("sendMessage")[0].body["text"]

    fake.push(update(502, FINANCE, chat_id=3))
    second = poll(copy_of_seeded, fake)  # a new process: the offset comes from the data directory
    assert second.returncode == 0, second.stderr
    assert [c.body.get("offset") for c in fake.of("getUpdates")] == [None, 502]
    assert [c.body["chat_id"] for c in fake.of("sendMessage")] == [1, 2, 3]


@pytest.mark.slow
def test_polling_while_a_webhook_is_set_stops_with_advice(copy_of_seeded, fake):
    fake.script("getUpdates", telegram_error(409, "Conflict: can't use getUpdates method while webhook is active"))
    result = poll(copy_of_seeded, fake)
    assert result.returncode == 1
    assert "delete-webhook" in result.stderr and fake.of("sendMessage") == []
