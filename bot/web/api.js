/* Talking to chidao: keyed fetches, Vietnamese error messages, the streamed answer (SSE).
 * The answer timeout comes from the server (<html data-answer-timeout>, seconds): longer than its
 * language model's, so a model that gives up still lets the extractive answer through. Tests may
 * set window.CHIDAO_CONFIG = {timeoutMs} before the page's scripts run. */

const served = Number(document.documentElement.dataset.answerTimeout) || 150;
export const CONFIG = Object.assign({ timeoutMs: served * 1000, historyTurns: 20 }, window.CHIDAO_CONFIG || {});
export const KEY_STORAGE = "chidao.apiKey";

export class ChatError extends Error {
  constructor(message, options) {
    super(message);
    this.needsKey = Boolean(options && options.needsKey);
  }
}

export function apiFetch(path, options) {
  const opts = Object.assign({}, options || {});
  const headers = Object.assign({}, opts.headers || {});
  const key = window.localStorage.getItem(KEY_STORAGE);
  if (key) headers["X-API-Key"] = key;
  opts.headers = headers;
  return window.fetch(path, opts);
}

export async function httpError(response) {
  let detail = "";
  try {
    const body = await response.json();
    if (body && typeof body.detail === "string") detail = body.detail;
  } catch (_) { /* not JSON: keep the status alone */ }
  const code = response.status;
  if (code === 401 || code === 403) {
    return new ChatError(detail || "Máy chủ yêu cầu khóa truy cập.", { needsKey: true });
  }
  if (code === 422) return new ChatError(detail || "Câu hỏi không hợp lệ.");
  if (code === 413) return new ChatError("Câu hỏi hoặc lịch sử trò chuyện quá dài.");
  if (code === 429) return new ChatError(detail || "Đã gửi quá nhiều câu hỏi. Vui lòng đợi một lát rồi thử lại.");
  if (code === 404) return new ChatError(detail || `Không tìm thấy địa chỉ trên máy chủ (mã ${code}).`);
  if (code >= 500) return new ChatError(`Máy chủ gặp lỗi (mã ${code}). Vui lòng thử lại sau.${detail ? " " + detail : ""}`);
  return new ChatError(`Yêu cầu không thành công (mã ${code}).${detail ? " " + detail : ""}`);
}

export function describeFailure(err, info) {
  if (err instanceof ChatError) return err.message;
  if (info.timedOut) return `Máy chủ không phản hồi sau ${Math.round(CONFIG.timeoutMs / 1000)} giây. Vui lòng thử lại.`;
  if (err && err.name === "AbortError") return "Đã dừng câu trả lời.";
  if (err instanceof SyntaxError) return "Máy chủ trả về dữ liệu không đọc được. Vui lòng thử lại.";
  if (info.received) return "Kết nối tới máy chủ bị ngắt giữa chừng. Vui lòng thử lại.";
  return "Không kết nối được máy chủ chidao. Kiểm tra máy chủ đã chạy và mạng nội bộ, rồi thử lại.";
}

/** Server-Sent Events from a fetch response: yields {event, data}; calls onChunk on every read
 * (keep-alive comments included, so a slow answer never looks like a dead server). */
async function* sseEvents(response, onChunk) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      onChunk();
      buffer += decoder.decode(value, { stream: true });
      let boundary;
      while ((boundary = /\r?\n\r?\n/.exec(buffer))) {
        const block = buffer.slice(0, boundary.index);
        buffer = buffer.slice(boundary.index + boundary[0].length);
        const event = parseSseBlock(block);
        if (event) yield event;
      }
    }
    buffer += decoder.decode();
    const last = parseSseBlock(buffer);
    if (last) yield last;
  } finally {
    reader.cancel().catch(() => {});
  }
}

function parseSseBlock(block) {
  let event = "message";
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(":")) continue; // comments: keep-alive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return data.length ? { event, data: data.join("\n") } : null;
}

/** POST /api/chat with ``stream: true``: calls onDelta(text) as the answer grows, onActivity() on
 * every read; resolves with the final answer object. ``isStale()`` ends it quietly (null). */
export async function streamChat(request, { signal, onDelta, onActivity, isStale }) {
  const response = await apiFetch("/api/chat", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify(Object.assign({}, request, { stream: true })),
    signal,
  });
  if (!response.ok) throw await httpError(response);
  if (!(response.headers.get("content-type") || "").includes("text/event-stream") || !response.body) {
    throw new ChatError("Máy chủ trả về dữ liệu không đúng định dạng. Vui lòng thử lại.");
  }
  for await (const event of sseEvents(response, onActivity)) {
    if (isStale()) return null;
    if (event.event === "delta") onDelta(JSON.parse(event.data).text || "");
    else if (event.event === "answer") return JSON.parse(event.data);
    else if (event.event === "error") {
      let detail = "";
      try { detail = JSON.parse(event.data).detail || ""; } catch (_) { /* keep the default */ }
      throw new ChatError(detail || "Lỗi máy chủ khi tạo câu trả lời. Vui lòng thử lại.");
    }
  }
  throw new ChatError("Kết nối tới máy chủ bị ngắt trước khi có câu trả lời đầy đủ. Vui lòng thử lại.");
}
