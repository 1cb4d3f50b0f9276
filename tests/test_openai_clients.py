"""Real OpenAI clients against ``/v1`` on a real uvicorn server: the ``openai`` package and
LangChain's ``ChatOpenAI``, as front ends and scripts use them.

Errors in OpenAI's shape and statuses, CORS preflight, ``/v1/models/{id}``, a front end's
background task prompts (Open WebUI's title, tags, follow-ups) answered without searching,
``usage`` counted with the embedder's tokenizer, and issue 15's finding 2 (lone surrogates).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.citations import Delta
from tests.conftest import LiveServer

pytestmark = pytest.mark.slow

KEY = "khoa-doc-v1"
ORIGIN = "https://chat.example.gov.vn"
QUESTION = "Sở Tài chính bảo đảm kinh phí cho kế hoạch nào?"
OFFICER_QUESTION = "Cơ sở giáo dục phải đăng ký gì trong Quý I của năm 2026 theo kế hoạch của tỉnh?"


def task_prompt(instructions: str, output: str, history: str) -> str:
    """A front-end task prompt in the layout Open WebUI's templates use (task, output, history)."""
    return (f"### Task:\n{instructions}\n### Guidelines:\n- Keep it short.\n### Output:\nJSON format: {output}\n"
            f"### Chat History:\n<chat_history>\n{history}\n</chat_history>")


HISTORY = f"USER: {OFFICER_QUESTION}\nASSISTANT: Theo **Phát động thi đua 08/PĐTĐ-BCĐ**: “… [2] …” [1]"
TITLE = task_prompt("Generate a concise, 3-5 word title with an emoji summarizing the chat history.",
                    '{ "title": "your concise title here" }', HISTORY)
TAGS = task_prompt("Generate 1-3 broad tags categorizing the main themes of the chat history.",
                   '{ "tags": ["tag1", "tag2", "tag3"] }', HISTORY)
FOLLOW_UPS = task_prompt("Suggest 3-5 relevant follow-up questions the user might ask next.",
                         '{ "follow_ups": ["Question 1?", "Question 2?", "Question 3?"] }', HISTORY)


class Spy:
    """The seeded service, recording every search or answer it is asked for."""

    def __init__(self, service: Any) -> None:
        self._service = service
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    def search(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append("search")
        return self._service.search(*args, **kwargs)

    def chat(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append("chat")
        return self._service.chat(*args, **kwargs)

    def chat_stream(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append("chat_stream")
        return self._service.chat_stream(*args, **kwargs)


class Failing(Spy):
    """Streams one piece, then a piece no encoder can write, then fails midway."""

    def chat_stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        yield Delta("Sở Tài chính ")
        yield Delta("\ud800 ")
        raise RuntimeError("the answerer broke")


def make_app(service: Any, data_dir: Path, **settings: Any) -> Any:
    from bot.api import create_app
    from bot.settings import Settings

    return create_app(service, Settings(data_dir=data_dir, **settings))


@pytest.fixture(scope="module")
def spy(seeded_service) -> Spy:
    return Spy(seeded_service)


@pytest.fixture(scope="module")
def server(spy, tmp_path_factory) -> Iterator[LiveServer]:
    """A server with a read key and one allowed cross-origin front end."""
    data = tmp_path_factory.mktemp("v1")
    with LiveServer(make_app(spy, data, read_key=KEY, cors_origins=f"{ORIGIN}, http://127.0.0.1:3000/")) as live:
        yield live


@pytest.fixture()
def client() -> Iterator[Any]:
    """``client(server, key)``: an ``openai.OpenAI`` for the server's /v1, closed after the test."""
    from openai import OpenAI

    made: list[Any] = []

    def make(server: LiveServer, key: str = KEY) -> Any:
        made.append(OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=60))
        return made[-1]

    yield make
    for one in made:
        one.close()


def post(server: LiveServer, raw: bytes | dict[str, Any], key: str | None = KEY, **kw: Any) -> httpx.Response:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    content = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    return httpx.post(server.url + "/v1/chat/completions", content=content, headers=headers, timeout=60, **kw)


def assert_openai_error(response: httpx.Response, status: int, param: str | None = None,
                        code: str | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    error = body["error"]
    assert error["message"] and error["param"] == param and error["code"] == code
    assert error["type"] == ("server_error" if status >= 500 else "invalid_request_error")
    return error["message"]


# -- errors ------------------------------------------------------------------------------


def test_errors_come_in_openai_shape_with_openai_statuses(server, client):
    import openai

    with pytest.raises(openai.BadRequestError) as bad:
        client(server).chat.completions.create(model="chidao", messages=[{"role": "system", "content": "Chỉ system"}])
    assert bad.value.status_code == 400 and bad.value.param == "messages" and "user" in bad.value.message
    with pytest.raises(openai.NotFoundError) as unknown:
        client(server).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    assert unknown.value.code == "model_not_found" and unknown.value.param == "model"
    with pytest.raises(openai.AuthenticationError) as wrong:
        client(server, key="sai-khoa").models.list()
    assert wrong.value.code == "invalid_api_key"

    assert_openai_error(post(server, {"model": "chidao", "messages": "hỏi"}), 400, "messages")
    assert_openai_error(post(server, {"model": "chidao", "messages": [{"content": "x"}]}), 400, "messages[0].role")
    assert_openai_error(post(server, b'{"model": "chidao", "messages": ['), 400)
    assert "Cần khóa đọc" in assert_openai_error(post(server, {"messages": []}, key=None), 401, code="invalid_api_key")
    missing = httpx.post(server.url + "/v1/embeddings", json={"input": "x"}, headers={"X-API-Key": KEY}, timeout=30)
    assert "POST /v1/embeddings" in assert_openai_error(missing, 404)
    assert_openai_error(httpx.delete(server.url + "/v1/models", headers={"X-API-Key": KEY}, timeout=30), 405)
    # the rest of the API keeps its own shape
    rest = httpx.post(server.url + "/api/chat", json={}, headers={"X-API-Key": KEY}, timeout=30)
    assert rest.status_code == 422 and "detail" in rest.json() and "error" not in rest.json()


def test_model_by_id(server, client):
    import openai

    assert client(server).models.retrieve("chidao").id == "chidao"
    assert [m.id for m in client(server).models.list()] == ["chidao"]
    with pytest.raises(openai.NotFoundError) as info:
        client(server).models.retrieve("gpt-4o")
    assert info.value.code == "model_not_found" and "gpt-4o" in info.value.message


def test_cors_preflight_only_for_configured_origins(server, live_server):
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type, x-stainless-os"}
    allowed = httpx.options(server.url + "/v1/chat/completions", headers={"Origin": ORIGIN, **preflight}, timeout=30)
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    second = httpx.options(server.url + "/v1/models", headers={"Origin": "http://127.0.0.1:3000", **preflight},
                           timeout=30)
    assert second.headers["access-control-allow-origin"] == "http://127.0.0.1:3000"  # trailing "/" in the setting
    other = httpx.options(server.url + "/v1/chat/completions", headers={"Origin": "https://evil.example", **preflight},
                          timeout=30)
    assert "access-control-allow-origin" not in other.headers
    # the actual request carries the header too, error responses included
    ok = httpx.get(server.url + "/v1/models", headers={"Origin": ORIGIN, "X-API-Key": KEY}, timeout=30)
    refused = httpx.get(server.url + "/v1/models", headers={"Origin": ORIGIN}, timeout=30)
    assert ok.headers["access-control-allow-origin"] == ORIGIN == refused.headers["access-control-allow-origin"]
    assert refused.status_code == 401
    # CHIDAO_CORS_ORIGINS empty (the default): no cross-origin access at all
    none = httpx.options(live_server.url + "/v1/chat/completions", headers={"Origin": ORIGIN, **preflight}, timeout=30)
    assert none.status_code == 405 and "access-control-allow-origin" not in none.headers


# -- front-end task prompts ----------------------------------------------------------------


def test_open_webui_title_request_gets_a_short_title_without_retrieval(server, spy, client):
    spy.calls.clear()
    completion = client(server).chat.completions.create(model="chidao", messages=[{"role": "user", "content": TITLE}])
    title = json.loads(completion.choices[0].message.content)["title"]
    assert title == "Cơ sở giáo dục phải đăng ký gì…"
    assert len(title) <= 60 and len(title.split()) <= 9
    assert spy.calls == []  # no search, no answer: the prompt is not a question about the documents
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    assert "citations" not in (completion.model_extra or {})

    tags = client(server).chat.completions.create(model="chidao", messages=[{"role": "user", "content": TAGS}])
    assert json.loads(tags.choices[0].message.content) == {"tags": ["Văn bản chỉ đạo"]}
    chunks = list(client(server).chat.completions.create(
        model="chidao", stream=True, messages=[{"role": "user", "content": FOLLOW_UPS}]))
    follow = json.loads("".join(c.choices[0].delta.content or "" for c in chunks if c.choices))
    assert follow["follow_ups"] and all(q.endswith("?") for q in follow["follow_ups"])
    assert spy.calls == []


def test_a_question_that_mentions_json_is_still_a_question(server, spy, client):
    spy.calls.clear()
    text = 'Văn bản nào yêu cầu báo cáo theo mẫu JSON format: { "title": … }?'
    completion = client(server).chat.completions.create(model="chidao", messages=[{"role": "user", "content": text}])
    assert spy.calls == ["chat"] and "answered" in completion.model_extra


# -- usage ---------------------------------------------------------------------------------


def test_usage_counts_tokens_with_the_embedders_tokenizer(server, e5, client):
    messages = [{"role": "user", "content": "Sở Y tế có nhiệm vụ gì?"}, {"role": "assistant", "content": "Sở Y tế …"},
                {"role": "user", "content": QUESTION}]
    completion = client(server).chat.completions.create(model="chidao", messages=messages)
    content = completion.choices[0].message.content
    prompt = e5.count_tokens("Sở Y tế có nhiệm vụ gì?") + e5.count_tokens("Sở Y tế …") + e5.count_tokens(QUESTION)
    assert completion.usage.prompt_tokens == prompt > 0
    assert completion.usage.completion_tokens == e5.count_tokens(content) > 10
    assert completion.usage.total_tokens == prompt + completion.usage.completion_tokens
    chunks = list(client(server).chat.completions.create(model="chidao", messages=messages, stream=True,
                                                         stream_options={"include_usage": True}))
    assert chunks[-1].usage.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"}) == \
        completion.usage.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"})


# -- LangChain -----------------------------------------------------------------------------


def test_langchain_chat_openai(server):
    import openai
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=server.url + "/v1", api_key=KEY, model="chidao", max_retries=0, timeout=60,
                     stream_usage=True)
    reply = llm.invoke(QUESTION)
    assert "[1]" in reply.content and reply.usage_metadata["input_tokens"] > 0
    assert reply.usage_metadata["output_tokens"] > 0
    streamed = list(llm.stream(QUESTION))
    assert "".join(c.content for c in streamed) == reply.content
    output = sum((c.usage_metadata or {}).get("output_tokens", 0) for c in streamed)
    assert output == reply.usage_metadata["output_tokens"]
    title = llm.invoke(TITLE).content
    assert json.loads(title)["title"].startswith("Cơ sở giáo dục")
    with pytest.raises(openai.NotFoundError):
        ChatOpenAI(base_url=server.url + "/v1", api_key=KEY, model="gpt-4o", max_retries=0).invoke(QUESTION)
    with pytest.raises(openai.AuthenticationError):
        ChatOpenAI(base_url=server.url + "/v1", api_key="sai", model="chidao", max_retries=0).invoke(QUESTION)


# -- issue 15, finding 2: lone surrogates --------------------------------------------------


def test_finding_2_lone_surrogate_model_is_400(server, spy):
    spy.calls.clear()
    raw = b'{"model": "\\ud800", "messages": [{"role": "user", "content": "hi"}]}'
    assert "Unicode" in assert_openai_error(post(server, raw), 400, "model", "invalid_value")
    in_content = b'{"model": "chidao", "messages": [{"role": "user", "content": "S\\udfff y t\\u1ebf"}]}'
    assert_openai_error(post(server, in_content), 400, "messages[0].content", "invalid_value")
    in_extra = b'{"model": "chidao", "user": "\\udbff", "messages": [{"role": "user", "content": "hi"}]}'
    assert_openai_error(post(server, in_extra), 400, "user", "invalid_value")
    assert spy.calls == []  # refused before anything reached the embedder
    paired = b'{"model": "chidao", "messages": [{"role": "user", "content": "\\ud83d\\udcc4 ' + \
        QUESTION.encode() + b'"}]}'
    assert post(server, paired).status_code == 200  # a real pair (an emoji) is fine


def test_finding_2_lone_surrogate_streamed_is_400(server):
    raw = b'{"model": "\\ud800", "stream": true, "messages": [{"role": "user", "content": "hi"}]}'
    response = post(server, raw)
    assert response.headers["content-type"].startswith("application/json")
    assert_openai_error(response, 400, "model", "invalid_value")


def test_finding_2_a_stream_that_fails_midway_ends_with_an_error_chunk_and_done(seeded_service, tmp_path, client):
    import openai

    request = {"model": "chidao", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    with LiveServer(make_app(Failing(seeded_service), tmp_path)) as live:
        with httpx.stream("POST", live.url + "/v1/chat/completions", json=request, timeout=60) as r:
            lines = [line for line in r.iter_lines() if line]
        with pytest.raises(openai.APIError) as info:
            list(client(live).chat.completions.create(**request))
    assert r.status_code == 200 and lines[-1] == "data: [DONE]"
    error = json.loads(lines[-2][6:])["error"]
    assert error["type"] == "server_error" and "Lỗi máy chủ" in error["message"]
    pieces = [json.loads(line[6:])["choices"][0]["delta"].get("content") for line in lines[1:-2]]
    assert pieces == ["Sở Tài chính ", "\ud800 "]  # escaped on the wire, not a cut stream
    assert "Lỗi máy chủ" in info.value.message
