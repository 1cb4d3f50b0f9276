"""The web chat in headless Chromium (Debian's, driven by Playwright) against a real uvicorn server.

Never downloads a browser: ``/usr/bin/chromium`` comes from scripts/setup.sh (apt package ``chromium``).
Screenshots go to ``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import prompts
from bot.citations import Delta
from tests.conftest import ROOT, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
DEV_QUESTION = "Cơ sở giáo dục phải đăng ký gì trong Quý I?"
GROUPED = prompts.load("answer_documents_intro.txt").format(count=2)  # its answer quotes two documents
OUT_OF_CORPUS = "Thủ tục cấp căn cước cho trẻ em gồm những giấy tờ gì?"
ANSWER_TIMEOUT = 60_000  # ms


# ---------- fixtures ----------

@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium not installed at /usr/bin/chromium: run scripts/setup.sh (apt package 'chromium')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def make_app(service: Any, data_dir: Path, **settings: Any) -> Any:
    """The app; its streams carry keep-alive comments every 50 ms, so every browser test also reads
    answers interleaved with them."""
    from bot.api import create_app
    from bot.settings import Settings

    return create_app(service, Settings(data_dir=data_dir, **{"sse_keepalive": 0.05, **settings}))


@pytest.fixture(scope="module")
def feedback_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("web-feedback")


@pytest.fixture(scope="module")
def server(seeded_service, feedback_dir) -> Iterator[LiveServer]:
    """The seeded index; feedback lands in this module's own data directory."""
    with LiveServer(make_app(seeded_service, feedback_dir)) as live:
        yield live


@pytest.fixture()
def page(browser) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(ANSWER_TIMEOUT)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def open_chat(page: Any, url: str) -> None:
    page.goto(url + "/")
    # Function form: the page's CSP forbids the eval that an expression string would need.
    page.wait_for_function("() => !document.getElementById('corpus-status').textContent.startsWith('Đang kiểm tra')")


def ask(page: Any, question: str) -> Any:
    """Type a question, press Enter (tap Gửi on a touch screen, where Enter is a new line); returns
    the locator of the answer's message once it settled."""
    index = page.locator("#messages article.msg.bot").count()
    page.fill("#question", question)
    if page.evaluate("matchMedia('(pointer: coarse)').matches"):
        page.get_by_role("button", name="Gửi câu hỏi").tap()
    else:
        page.press("#question", "Enter")
    article = page.locator("#messages article.msg.bot").nth(index)  # .last would follow later answers
    page.wait_for_function(
        "() => { const a = [...document.querySelectorAll('#messages article.msg.bot')].pop();"
        " return a && !a.classList.contains('pending'); }")
    return article


def record_growth(page: Any) -> None:
    """Record the answer text's length at every DOM change while the answer is still pending."""
    page.evaluate("""() => {
      window.__growth = []; window.__sawWorking = false;
      new MutationObserver(() => {
        const a = [...document.querySelectorAll('#messages article.msg.bot')].pop();
        if (!a || !a.classList.contains('pending')) return;
        if (a.querySelector('.working')) window.__sawWorking = true;
        const t = a.querySelector('.answer-text');
        if (t) window.__growth.push(t.textContent.length);
      }).observe(document.getElementById('messages'), {childList: true, subtree: true, characterData: true});
    }""")


def no_horizontal_overflow(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def chat_api(url: str, question: str) -> dict[str, Any]:
    return httpx.post(url + "/api/chat", json={"message": question}, timeout=60).json()


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# ---------- the main flow ----------

def test_streamed_answer_with_citation_and_highlighted_source(page, server):
    open_chat(page, server.url)
    record_growth(page)
    article = ask(page, DEV_QUESTION)

    assert "answered" in article.get_attribute("class")
    growth = page.evaluate("window.__growth")
    final = len(article.locator(".answer-text").text_content())
    partial = sorted({n for n in growth if 0 < n})
    assert len(partial) >= 3, f"answer did not grow progressively: {growth}"
    assert growth == sorted(growth), "the streamed text only grows"
    assert min(partial) < final / 2
    assert int(article.get_attribute("data-renders")) >= 3
    assert page.evaluate("window.__sawWorking"), "the page showed no working indicator"

    expected = chat_api(server.url, DEV_QUESTION)
    assert squash(article.locator(".answer-text").inner_text()).startswith(GROUPED)
    assert "Phát động thi đua 08/PĐTĐ-BCĐ" in article.inner_text()
    links = article.locator(".answer-text a.cite")
    assert links.count() == len(expected["citations"]) >= 1
    assert article.locator("ol.sources li").count() == len(expected["citations"])

    links.first.click()
    panel = page.locator("#source-panel")
    mark = panel.locator("mark.quote-mark")
    mark.wait_for()
    first = expected["citations"][0]
    assert panel.is_visible()
    assert squash(mark.text_content()) == squash(first["quote"])
    assert panel.locator(".passage.cited").get_attribute("data-chunk-id") == first["chunk_id"]
    body = panel.inner_text()
    assert first["doc_number"] in body and first["title"] in body
    assert first["headings"][-1] in body  # the section path
    assert "Ngày ban hành" in body
    assert mark.evaluate("m => getComputedStyle(m).backgroundColor") != "rgba(0, 0, 0, 0)"

    page.click("#close-source")
    assert not panel.is_visible()
    assert links.first.evaluate("a => a === document.activeElement")  # focus came back


def test_answer_grows_while_the_server_is_still_streaming(page, seeded_service, tmp_path):
    """With the server pausing between pieces, text is on screen before the stream has ended."""
    with LiveServer(make_app(SlowStream(seeded_service, delay=0.08), tmp_path)) as slow:
        open_chat(page, slow.url)
        page.fill("#question", "Sở Tài chính có nhiệm vụ gì?")
        page.press("#question", "Enter")
        page.wait_for_function(
            "() => { const a = document.querySelector('#messages article.msg.bot');"
            " return a && a.classList.contains('pending') && a.querySelector('.answer-text').textContent.length > 5; }")
        early = page.locator("#messages article.msg.bot .answer-text").text_content()
        assert page.locator("#send").is_disabled()
        assert page.locator("#messages article.msg.bot .working").is_visible()
        article = page.locator("#messages article.msg.bot.answered")
        article.wait_for()
        final = article.locator(".answer-text").text_content()
        assert len(early) < len(final) / 2
        assert not page.locator("#send").is_disabled()


class SlowStream:
    """The seeded service, pausing before each streamed piece."""

    def __init__(self, service: Any, delay: float) -> None:
        self._service, self._delay = service, delay

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    def chat_stream(self, message: str, history: Any = (), filters: Any = None) -> Iterator[Any]:
        for event in self._service.chat_stream(message, history, filters):
            if isinstance(event, Delta):
                time.sleep(self._delay)
            yield event


def test_history_is_sent_and_new_conversation_clears_it(page, server):
    bodies: list[dict[str, Any]] = []
    page.on("request", lambda r: bodies.append(json.loads(r.post_data))
            if r.url.endswith("/api/chat") and r.method == "POST" else None)
    open_chat(page, server.url)

    page.fill("#question", "dòng một")
    page.press("#question", "Shift+Enter")
    page.locator("#question").press_sequentially("dòng hai")
    assert page.input_value("#question") == "dòng một\ndòng hai"
    assert page.locator("#messages .msg").count() == 0  # Shift+Enter does not send
    page.fill("#question", "")

    first = ask(page, "Sở Tài chính có nhiệm vụ gì?")
    ask(page, "Còn Sở Y tế thì sao?")
    assert bodies[0]["history"] == [] and bodies[0]["stream"] is True
    answer_text = chat_api(server.url, "Sở Tài chính có nhiệm vụ gì?")["answer"]
    assert bodies[1]["history"] == [{"role": "user", "content": "Sở Tài chính có nhiệm vụ gì?"},
                                    {"role": "assistant", "content": answer_text}]
    assert first.is_visible()

    page.get_by_role("button", name=re.compile("Cuộc trò chuyện mới")).click()
    assert page.locator("#messages .msg").count() == 0
    assert page.locator("#welcome").is_visible()
    ask(page, "Sở Y tế phải làm gì?")
    assert bodies[2]["history"] == []


def test_feedback_is_recorded_and_exported(page, server, feedback_dir):
    open_chat(page, server.url)
    article = ask(page, DEV_QUESTION)
    up = article.get_by_role("button", name="Hữu ích", exact=True)
    up.click()
    article.locator(".feedback-status.ok").wait_for()
    assert up.get_attribute("aria-pressed") == "true"
    assert "đã ghi nhận" in article.locator(".feedback-status").inner_text()

    rows = export_feedback(feedback_dir)
    mine = [r for r in rows if r["question"] == DEV_QUESTION]
    assert mine and mine[-1]["rating"] == "up" and mine[-1]["answered"] is True
    assert mine[-1]["citations"] and mine[-1]["citations"][0]["quote"]
    assert squash(mine[-1]["answer"]).startswith(GROUPED)

    article.get_by_role("button", name="Chưa hữu ích").click()
    page.wait_for_function("() => document.querySelector('.thumb-down').getAttribute('aria-pressed') === 'true'")
    assert [r["rating"] for r in export_feedback(feedback_dir) if r["answer_id"] == mine[-1]["answer_id"]] == ["down"]


def export_feedback(data_dir: Path) -> list[dict[str, Any]]:
    """``chidao feedback export`` as a real process."""
    chidao = Path(sys.executable).with_name("chidao")
    command = [str(chidao)] if chidao.exists() else [sys.executable, "-m", "bot.cli"]
    done = subprocess.run([*command, "feedback", "export", "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=120, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_not_found_looks_different(page, server):
    open_chat(page, server.url)
    found = ask(page, DEV_QUESTION)
    missing = ask(page, OUT_OF_CORPUS)
    assert "notfound" in missing.get_attribute("class") and "answered" not in missing.get_attribute("class")
    assert "Không tìm thấy trong văn bản đã nạp" in missing.locator(".notfound-badge").inner_text()
    assert missing.locator("a.cite").count() == 0 and missing.locator("ol.sources").count() == 0

    def look(locator: Any) -> tuple[str, str]:
        return locator.locator(".bubble").evaluate(
            "b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).borderLeftColor]")

    found_bg, found_border = look(found)
    missing_bg, missing_border = look(missing)
    assert found_bg != missing_bg and found_border != missing_border
    assert missing.get_attribute("aria-label") == "Không tìm thấy câu trả lời"


# ---------- errors: never a blank ----------

def test_server_down_shows_a_message(page, seeded_service, tmp_path):
    live = LiveServer(make_app(seeded_service, tmp_path))
    with live:
        open_chat(page, live.url)
    article = ask(page, DEV_QUESTION)  # the server is gone now
    assert "error" in article.get_attribute("class")
    assert "Không kết nối được máy chủ" in article.locator(".error-box").inner_text()
    assert not page.locator("#send").is_disabled()
    assert article.get_by_role("button", name="Thử lại").is_visible()


def test_read_key_is_asked_for_then_sent(page, seeded_service, tmp_path):
    from bot.api import create_app
    from bot.settings import Settings

    app = create_app(seeded_service, Settings(data_dir=tmp_path, read_key="khoa-doc"))
    with LiveServer(app) as live:
        open_chat(page, live.url)
        assert "Không tải được danh sách văn bản" in page.locator("#corpus-status").inner_text()
        article = ask(page, DEV_QUESTION)
        assert "Cần khóa đọc" in article.locator(".error-box").inner_text()
        article.get_by_label("Khóa truy cập").fill("khoa-doc")
        article.get_by_role("button", name="Lưu khóa và thử lại").click()
        page.locator("#messages article.msg.bot.answered").wait_for()
        assert page.locator("#messages article.msg.bot.answered a.cite").count() >= 1
        page.wait_for_function("() => document.getElementById('corpus-status').textContent.includes('5 văn bản')")


def sse_body(*events: tuple[str, dict[str, Any]]) -> str:
    return "".join(f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n" for name, data in events)


@pytest.mark.parametrize(
    ("response", "needle"),
    [
        ({"status": 500, "content_type": "application/json", "body": json.dumps({"detail": "Internal"})},
         "Máy chủ gặp lỗi (mã 500)"),
        ({"status": 502, "content_type": "text/html", "body": "<h1>Bad gateway</h1>"}, "Máy chủ gặp lỗi (mã 502)"),
        ({"status": 422, "content_type": "application/json",
          "body": json.dumps({"detail": "Yêu cầu không hợp lệ: 'message': quá dài"})}, "'message': quá dài"),
        ({"status": 200, "content_type": "text/event-stream",
          "body": sse_body(("delta", {"text": "Theo "}),
                           ("error", {"detail": "Lỗi máy chủ khi tạo câu trả lời. Vui lòng thử lại."}))},
         "Lỗi máy chủ khi tạo câu trả lời"),
        ({"status": 200, "content_type": "text/event-stream", "body": sse_body(("delta", {"text": "Theo "}))},
         "bị ngắt trước khi có câu trả lời đầy đủ"),
        ({"status": 200, "content_type": "text/html", "body": "<html>proxy login</html>"},
         "không đúng định dạng"),
    ],
    ids=["http-500", "http-502-html", "http-422", "sse-error-event", "stream-cut", "not-sse"],
)
def test_failures_show_a_vietnamese_message(page, server, response, needle):
    page.route("**/api/chat", lambda route: route.fulfill(**response))
    open_chat(page, server.url)
    article = ask(page, DEV_QUESTION)
    assert "error" in article.get_attribute("class")
    box = article.locator(".error-box")
    assert box.get_attribute("role") == "alert"
    assert "Không nhận được câu trả lời" in box.inner_text() and needle in box.inner_text()


def test_timeout_shows_a_message(page, server):
    held: list[Any] = []
    page.add_init_script("window.CHIDAO_CONFIG = {timeoutMs: 1000};")
    page.route("**/api/chat", lambda route: held.append(route))  # never answered
    open_chat(page, server.url)
    article = ask(page, DEV_QUESTION)
    assert held, "the request never left the page"
    assert "Máy chủ không phản hồi sau 1 giây" in article.locator(".error-box").inner_text()


def test_document_list_failure_shows_a_message(page, server):
    page.route("**/api/documents", lambda route: route.fulfill(status=503, body="down"))
    open_chat(page, server.url)
    assert "Không tải được danh sách văn bản" in page.locator("#corpus-status").inner_text()


# ---------- documents view, phone width, offline, labels ----------

def test_documents_view_lists_what_is_ingested(page, server):
    open_chat(page, server.url)
    page.get_by_role("button", name="Văn bản đã nạp").click()
    cards = page.locator("#docs-list .doc-card")
    cards.first.wait_for()
    assert cards.count() == 5
    listing = page.locator("#docs-list").inner_text()
    assert "195/KH-UBND" in listing and "17/12/2025" in listing and "08/PĐTĐ-BCĐ" in listing
    assert "Cơ quan ban hành" in listing
    card = cards.filter(has_text="195/KH-UBND")
    card.get_by_role("button", name=re.compile("Xem văn bản")).click()
    page.locator("#source-panel .fulltext-body").wait_for()
    assert "195/KH-UBND" in page.locator("#source-panel").inner_text()


def test_agencies_view_lists_tasks_deadlines_and_sources(page, server):
    open_chat(page, server.url)
    page.get_by_role("button", name="Tra cứu theo cơ quan").click()
    page.locator("#agencies-list .agency-item").first.wait_for()
    page.fill("#agency-filter", "so gd")  # accent-free filter over names and aliases
    items = page.locator("#agencies-list .agency-item")
    assert items.count() == 1 and "Sở Giáo dục và Đào tạo" in items.first.inner_text()
    items.first.click()
    tasks = page.locator("#agency-tasks .task-card")
    tasks.first.wait_for()
    text = page.locator("#agency-tasks").inner_text()
    assert "hoàn thành trong tháng 11/2026 (30/11/2026)" in text and "III › 8. Sở Giáo dục và Đào tạo" in text
    dated = tasks.filter(has_text="tháng 11/2026").first
    dated.get_by_role("button", name=re.compile("Xem nguồn")).click()
    page.locator("#source-panel mark.quote-mark").wait_for()
    assert "tháng 11/2026" in page.locator("#source-panel mark.quote-mark").first.inner_text()


def test_phone_width_screenshot_without_horizontal_overflow(browser, server):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 375, "height": 800}, device_scale_factor=1,
                                  is_mobile=True, has_touch=True, locale="vi-VN")
    try:
        page = context.new_page()
        page.set_default_timeout(ANSWER_TIMEOUT)
        open_chat(page, server.url)
        assert no_horizontal_overflow(page)
        ask(page, DEV_QUESTION)
        ask(page, OUT_OF_CORPUS)
        page.screenshot(path=str(ARTIFACTS / "web-375x800.png"))
        assert no_horizontal_overflow(page)

        page.locator("#messages a.cite").first.click()
        page.locator("mark.quote-mark").wait_for()
        page.screenshot(path=str(ARTIFACTS / "web-375x800-source.png"))
        assert no_horizontal_overflow(page)
        assert page.locator("#source-panel").evaluate("p => p.getBoundingClientRect().width") <= 375
        page.click("#close-source")

        page.get_by_role("button", name="Văn bản đã nạp").click()
        page.locator("#docs-list .doc-card").first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "web-375x800-documents.png"))
        assert no_horizontal_overflow(page)

        page.get_by_role("button", name="Tra cứu theo cơ quan").click()
        page.locator("#agencies-list .agency-item").first.click()
        page.locator("#agency-tasks .task-card").first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "web-375x800-agencies.png"))
        assert no_horizontal_overflow(page)

        page.get_by_role("button", name="Lịch sử", exact=True).click()
        page.locator("#history-list .history-item").first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "web-375x800-history.png"))
        assert no_horizontal_overflow(page)
    finally:
        context.close()
    assert (ARTIFACTS / "web-375x800.png").stat().st_size > 10_000


def test_offline_page_vietnamese_and_labelled(page, server):
    origins: set[str] = set()
    page.on("request", lambda r: origins.add(re.match(r"^[a-z]+://[^/]+", r.url).group(0))
            if not r.url.startswith("data:") else None)
    open_chat(page, server.url)
    ask(page, DEV_QUESTION)
    assert origins == {server.url}, f"the page loaded something from elsewhere: {origins}"
    assert page.get_attribute("html", "lang") == "vi"
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('button, textarea, input, a[href]')]
      .filter(e => e.offsetParent !== null || e.closest('#source-panel'))
      .filter(e => !(e.getAttribute('aria-label') || (e.labels && e.labels.length) || e.textContent.trim()))
      .map(e => e.outerHTML.slice(0, 80))""")
    assert unlabelled == []
    assert page.locator("label[for=question]").text_content() == "Câu hỏi"
    assert page.get_by_role("button", name="Gửi câu hỏi").is_visible()


# ---------- essentials: stop, copy, regenerate, kept conversations, lists, citation links ----------

HEALTH = "Sở Y tế có nhiệm vụ gì?"


def settled(page: Any) -> None:
    page.wait_for_function(
        "() => { const a = [...document.querySelectorAll('#messages article.msg.bot')].pop();"
        " return a && !a.classList.contains('pending'); }")


def chat_bodies(page: Any) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    page.on("request", lambda r: bodies.append(json.loads(r.post_data))
            if r.url.endswith("/api/chat") and r.method == "POST" else None)
    return bodies


def stored(page: Any) -> list[dict[str, Any]]:
    return json.loads(page.evaluate("() => localStorage.getItem('chidao.conversations.v1') || '[]'"))


class Held:
    """The seeded service, holding its answer after ``after`` pieces until ``release`` is set;
    ``closed`` is set once the server has dropped the answer (the request ended)."""

    def __init__(self, service: Any, after: int) -> None:
        self._service, self.after = service, after
        self.release, self.closed = threading.Event(), threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    def chat_stream(self, message: str, history: Any = (), filters: Any = None) -> Iterator[Any]:
        sent = 0
        try:
            for event in self._service.chat_stream(message, history, filters):
                if isinstance(event, Delta):
                    if sent == self.after:
                        self.release.wait(60)
                    sent += 1
                yield event
        finally:
            self.closed.set()


def test_stop_keeps_what_was_shown_and_ends_the_request(page, seeded_service, tmp_path):
    held = Held(seeded_service, after=3)
    pieces = [e.text for e in seeded_service.chat_stream(DEV_QUESTION) if isinstance(e, Delta)]
    shown_raw = "".join(pieces[:3])
    try:
        with LiveServer(make_app(held, tmp_path)) as live:
            open_chat(page, live.url)
            page.fill("#question", DEV_QUESTION)
            page.press("#question", "Enter")
            stop = page.get_by_role("button", name="Dừng câu trả lời")
            stop.wait_for()
            assert page.locator("#send").is_hidden()
            words = squash(shown_raw.replace("*", ""))
            page.wait_for_function(
                "w => { const t = document.querySelector('#messages article.msg.bot .answer-text');"
                " return t && t.innerText.replace(/\\s+/g, ' ').includes(w); }", arg=words)
            before = squash(page.locator("#messages article.msg.bot .answer-text").inner_text())
            stop.click()
            article = page.locator("#messages article.msg.bot.stopped")
            article.wait_for()
            assert squash(article.locator(".answer-text").inner_text()) == before
            assert "Đã dừng" in article.locator(".stopped-note").inner_text()
            assert page.locator("#send").is_enabled() and page.locator("#stop").is_hidden()
            [turn] = stored(page)[0]["turns"]
            assert turn["status"] == "stopped" and turn["partial"] == shown_raw  # all that had arrived
            held.release.set()
            assert held.closed.wait(30), "the server kept answering after the stop"

            page.reload()
            restored = page.locator("#messages article.msg.bot.stopped")
            restored.wait_for()
            assert squash(restored.locator(".answer-text").inner_text()) == before
            assert restored.get_by_role("button", name="Tạo lại câu trả lời").is_visible()
    finally:
        held.release.set()


def test_copy_answer_with_its_sources(page, server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    open_chat(page, server.url)
    article = ask(page, DEV_QUESTION)
    expected = chat_api(server.url, DEV_QUESTION)
    copy = article.get_by_role("button", name="Sao chép câu trả lời và nguồn")
    copy.click()
    article.locator(".action-status", has_text="Đã sao chép").wait_for()
    text = page.evaluate("() => navigator.clipboard.readText()")
    answer, sources = text.split("\n\nNguồn:\n")
    assert answer.startswith(GROUPED + "\n\n") and "Phát động thi đua 08/PĐTĐ-BCĐ" in answer
    assert "- mục 1 › c) Đối với cơ sở giáo dục" in answer
    assert "**" not in answer and all(c["quote"].splitlines()[0] in answer for c in expected["citations"])
    assert sources.splitlines() == [
        f"[{c['n']}] {c['doc_type'] or 'Văn bản'} {c['doc_number']} – {c['title']}, mục {' › '.join(c['headings'])}"
        for c in expected["citations"]]
    # Plain http on the office network has no clipboard API: the copy command takes over.
    page.evaluate("""() => {
      Object.defineProperty(navigator, 'clipboard', {value: undefined, configurable: true});
      document.addEventListener('copy', (e) => {
        const t = e.target; window.__copied = t.value.slice(t.selectionStart, t.selectionEnd); });
    }""")
    copy.click()
    page.wait_for_function("() => window.__copied !== undefined")
    assert page.evaluate("window.__copied") == text
    assert copy.evaluate("b => b === document.activeElement")


def test_regenerate_replaces_the_latest_answer(page, server):
    bodies = chat_bodies(page)
    open_chat(page, server.url)
    first = ask(page, DEV_QUESTION)
    ask(page, "Còn cơ quan, doanh nghiệp thì sao?")
    assert first.get_by_role("button", name="Tạo lại câu trả lời").count() == 0  # only the latest
    page.locator("#messages article.msg.bot").last.get_by_role("button", name="Tạo lại câu trả lời").click()
    settled(page)
    page.wait_for_function("() => document.querySelectorAll('#messages article.msg.bot').length === 2")
    assert len(bodies) == 3 and bodies[2] == bodies[1]  # the same question with the same history
    assert page.locator("#messages .msg.user").count() == 2
    assert page.locator("#messages article.msg.bot").last.locator("a.cite").count() >= 1
    assert [t["status"] for t in stored(page)[0]["turns"]] == ["done", "done"]


def test_reload_keeps_the_conversation_and_lists_past_ones(page, server):
    bodies = chat_bodies(page)
    open_chat(page, server.url)
    article = ask(page, DEV_QUESTION)
    text, links = article.locator(".answer-text").inner_text(), article.locator("a.cite").count()

    page.reload()
    restored = page.locator("#messages article.msg.bot.answered")
    restored.wait_for()
    assert restored.locator(".answer-text").inner_text() == text and restored.locator("a.cite").count() == links
    assert page.locator("#messages .msg.user").inner_text().endswith(DEV_QUESTION)
    assert page.locator("#welcome").is_hidden()
    restored.locator("a.cite").first.click()
    page.locator("#source-panel mark.quote-mark").wait_for()
    page.click("#close-source")
    ask(page, "Còn cơ quan, doanh nghiệp thì sao?")  # the restored turn is the follow-up's history
    assert bodies[-1]["history"][0] == {"role": "user", "content": DEV_QUESTION}

    page.get_by_role("button", name=re.compile("Cuộc trò chuyện mới")).click()
    ask(page, HEALTH)
    page.get_by_role("button", name="Lịch sử", exact=True).click()
    items = page.locator("#history-list .history-item")
    items.first.wait_for()
    assert items.count() == 2
    assert items.first.inner_text().startswith(HEALTH) and "2 câu hỏi" in items.nth(1).inner_text()
    items.nth(1).locator(".history-open").click()
    assert page.locator("#chat-view").is_visible()
    assert page.locator("#messages .msg.user").count() == 2
    assert page.locator("#messages .msg.user").first.inner_text().endswith(DEV_QUESTION)

    page.get_by_role("button", name="Lịch sử", exact=True).click()
    page.get_by_role("button", name=f"Xóa cuộc trò chuyện: {HEALTH}").click()
    assert items.count() == 1
    page.reload()
    assert len(stored(page)) == 1 and page.locator("#messages .msg.user").count() == 2


def test_lists_render_as_lists_and_quoted_lines_stay_text(page, server):
    open_chat(page, server.url)
    health = ask(page, HEALTH)
    expected = chat_api(server.url, HEALTH)["answer"]
    items = [line for line in expected.splitlines() if line.startswith("- ")]
    assert len(items) >= 2
    rendered = health.locator(".answer-text ul > li")
    assert rendered.count() == len(items)
    assert not any(t.startswith("-") for t in rendered.all_inner_texts())
    assert "(chủ trì) Sở Y tế chủ trì" in rendered.first.inner_text()
    assert rendered.first.locator("em").count() == 1 and rendered.first.locator("a.cite").count() == 1
    # "- " lines inside a quoted passage are the document's text, not a list of the answer
    quoted = ask(page, DEV_QUESTION)
    assert all(t.startswith("mục") for t in quoted.locator(".answer-text li").all_inner_texts())
    assert quoted.locator(".quoted", has_text="- Tích cực tham gia").count() == 1
    assert quoted.locator(".answer-text br").count() >= 1  # line breaks kept


BRACKET_DOC = """ỦY BAN NHÂN DÂN TỈNH LÀO CAI

Số: 77/TB-UBND

Lào Cai, ngày 05 tháng 3 năm 2026

THÔNG BÁO
Lịch tiếp công dân định kỳ của Chủ tịch Ủy ban nhân dân tỉnh năm 2026

1. Lịch tiếp công dân

Chủ tịch Ủy ban nhân dân tỉnh tiếp công dân định kỳ vào ngày 15 hằng tháng tại Trụ sở Tiếp công dân \
tỉnh, theo khoản [2] Điều 12 của Quy chế tiếp công dân [1] ban hành kèm theo Quyết định số 05/2025/QĐ-UBND.

2. Tổ chức thực hiện

Ban Tiếp công dân tỉnh chủ trì, phối hợp với Văn phòng Ủy ban nhân dân tỉnh bố trí địa điểm tiếp công dân \
và thông báo lịch tiếp công dân trên Cổng thông tin điện tử tỉnh.
"""
BRACKET_Q = "Lịch tiếp công dân của Chủ tịch tỉnh và ai bố trí địa điểm tiếp công dân?"


@pytest.fixture(scope="module")
def bracket_server(seeded_dir, e5, tmp_path_factory) -> Iterator[LiveServer]:
    """The seeded corpus plus a document whose own text contains "[2]" and "[1]"."""
    import shutil

    from bot.settings import Settings
    from bot.wiring import build_indexer, build_service, build_store

    data = tmp_path_factory.mktemp("bracket") / "data"
    shutil.copytree(seeded_dir, data)
    settings = Settings(data_dir=data)
    store = build_store(settings, e5)
    assert build_indexer(settings, store).ingest_bytes(BRACKET_DOC.encode(), "077_tiep_cong_dan.txt").ok
    with LiveServer(make_app(build_service(settings, store), data)) as live:
        yield live


def test_brackets_inside_quoted_document_text_are_not_citation_links(page, bracket_server):
    expected = httpx.post(bracket_server.url + "/api/chat", json={"message": BRACKET_Q}, timeout=60).json()
    assert len(expected["citations"]) >= 2  # a "[2]" could point somewhere: the test can fail
    open_chat(page, bracket_server.url)
    article = ask(page, BRACKET_Q)
    quote = article.locator(".answer-text .quoted", has_text="khoản [2] Điều 12")
    assert quote.count() == 1
    assert "Quy chế tiếp công dân [1]" in quote.inner_text()
    assert quote.locator("a, .cite").count() == 0
    links = article.locator(".answer-text a.cite")
    assert links.count() == len(expected["citations"])
    assert all(link.evaluate("a => !a.closest('.quoted')") for link in links.all())
    # while streaming too: pending markers are never drawn inside quotes
    page.route("**/api/chat", lambda route: route.fulfill(status=200, content_type="text/event-stream",
               body=sse_body(("delta", {"text": "Theo “khoản [2] Điều 12” [1]"}))))
    cut = ask(page, BRACKET_Q)
    assert cut.locator(".quoted .cite").count() == 0 and cut.locator(".cite-pending").count() == 1


def test_touch_screens_get_touch_hints(browser, server):
    desktop = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    phone = browser.new_context(viewport={"width": 375, "height": 800}, is_mobile=True, has_touch=True, locale="vi-VN")
    try:
        page = desktop.new_page()
        open_chat(page, server.url)
        assert page.locator("#composer-hint").inner_text() == "Enter để gửi · Shift+Enter để xuống dòng"
        page = phone.new_page()
        open_chat(page, server.url)
        hint = page.locator("#composer-hint").inner_text()
        assert "Shift" not in hint and "Enter" not in hint and "Gửi" in hint
        page.fill("#question", "Sở Y tế")
        page.press("#question", "Enter")  # the phone keyboard's Enter: a new line, not a send
        assert page.input_value("#question") == "Sở Y tế\n" and page.locator("#messages .msg").count() == 0
        page.get_by_role("button", name="Gửi câu hỏi").tap()
        page.locator("#messages article.msg.bot").wait_for()
    finally:
        desktop.close()
        phone.close()


def test_ask_within_a_document_sends_the_filter(page, server):
    bodies = chat_bodies(page)
    open_chat(page, server.url)
    docs = httpx.get(server.url + "/api/documents", timeout=30).json()
    plan = next(d for d in docs if d["doc_number"] == "195/KH-UBND")
    page.get_by_role("button", name="Văn bản đã nạp").click()
    page.locator("#docs-list .doc-card").filter(has_text="195/KH-UBND").get_by_role(
        "button", name=re.compile("Xem văn bản")).click()
    page.get_by_role("button", name="Hỏi trong văn bản này: Kế hoạch 195/KH-UBND").click()
    assert page.locator("#chat-view").is_visible() and page.locator("#source-panel").is_hidden()
    assert page.locator("#scope").inner_text().startswith("Chỉ hỏi trong: Kế hoạch 195/KH-UBND")
    ask(page, "Báo cáo gửi trước ngày nào?")
    assert bodies[-1]["filters"] == {"document_ids": [plan["id"]]}
    page.reload()  # the limit belongs to the conversation: it survives a reload
    page.locator("#messages article.msg.bot").wait_for()
    assert page.locator("#scope").is_visible()
    ask(page, "Còn báo cáo năm thì sao?")
    assert bodies[-1]["filters"] == {"document_ids": [plan["id"]]}
    page.get_by_role("button", name="Bỏ giới hạn, hỏi trong tất cả văn bản").click()
    ask(page, "Sở Tài chính có nhiệm vụ gì?")
    assert "filters" not in bodies[-1] and page.locator("#scope").is_hidden()


def test_the_page_outwaits_the_model_so_the_fallback_reaches_the_officer(page, seeded_service, tmp_path):
    import prompts
    from bot.settings import Settings
    from bot.wiring import build_service
    from tests.fake_openai import FakeOpenAI, Reply

    with FakeOpenAI() as fake:
        fake.reset(lambda body: Reply("Quá muộn [1].", delay=8))  # the model never answers in time
        llm = dict(llm_provider="openai-compatible", llm_base_url=fake.base_url, llm_model="m", llm_timeout=1.0)
        service = build_service(Settings(data_dir=tmp_path, **llm), seeded_service.store)
        with LiveServer(make_app(service, tmp_path, **llm)) as live:
            open_chat(page, live.url)
            assert int(page.evaluate("document.documentElement.dataset.answerTimeout")) > 1.0 * 2
            article = ask(page, "Sở Tài chính bảo đảm kinh phí cho kế hoạch nào?")
            assert "answered" in article.get_attribute("class")
            assert prompts.load("llm_fallback_error.txt") in article.locator(".answer-note").inner_text()
            assert article.locator("a.cite").count() >= 1
