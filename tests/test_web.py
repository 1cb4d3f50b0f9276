"""The web chat in headless Chromium (Debian's, driven by Playwright) against a real uvicorn server.

Never downloads a browser: ``/usr/bin/chromium`` comes from scripts/setup.sh (apt package ``chromium``).
Screenshots go to ``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

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


def make_app(service: Any, data_dir: Path) -> Any:
    from bot.api import create_app
    from bot.settings import Settings

    return create_app(service, Settings(data_dir=data_dir))


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
    """Type a question, press Enter; returns the locator of the answer's message once it settled."""
    index = page.locator("#messages article.msg.bot").count()
    page.fill("#question", question)
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
    assert squash(article.locator(".answer-text").inner_text()).startswith("Các văn bản đã nạp nêu như sau:")
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

    def chat_stream(self, message: str, history: Any = ()) -> Iterator[Any]:
        for event in self._service.chat_stream(message, history):
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
    assert squash(mine[-1]["answer"]).startswith("Các văn bản đã nạp nêu như sau:")

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
