"""The Zalo Official Account API v3 client (https://developers.zalo.me/docs/official-account).

Calls are ``POST {ZALO_API_BASE}/v3.0/oa/…`` with JSON and the ``access_token`` header. Zalo
answers HTTP 200 even for most failures: ``{"error": 0, "message": "Success", "data": …}`` or a
non-zero ``error`` with its ``message``. Handled here:

- ``-216`` (access token is invalid), ``-220`` (expired or removed), or HTTP 401: refresh the
  token once and repeat the call;
- ``-32`` (the app reached its API call limit): wait and try again, as for HTTP 429;
- anything else: logged with Zalo's code and raised.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from bot.channels.http import JsonClient, RetryPolicy, UpstreamError
from bot.channels.zalo_token import ZaloAuth

log = logging.getLogger(__name__)

MESSAGE_PATH = "/v3.0/oa/message/cs"
TOKEN_ERRORS = {-216, -220}
TRANSIENT_ERRORS = {-32}


class ZaloApi:
    def __init__(self, auth: ZaloAuth, api_base: str, *, timeout: float = 15.0, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.auth = auth
        self.client = JsonClient(api_base, "zalo", timeout=timeout, retry=retry, sleep=sleep)

    def send_text(self, recipient: dict[str, str], text: str) -> Any:
        """A customer-service text: ``recipient`` is ``{"message_id": …}`` to answer a user's message
        (so it is not counted as a proactive message), or ``{"user_id": …}``."""
        return self.call(MESSAGE_PATH, {"recipient": recipient, "message": {"text": text}}, "message/cs")

    def call(self, path: str, payload: dict[str, Any], what: str) -> Any:
        token = self.auth.access_token()
        refreshed = False
        failures = 0
        while True:
            try:
                body = self.client.post(path, payload, headers={"access_token": token}, what=what)
            except UpstreamError as exc:
                if exc.status == 401 and not refreshed:
                    token, refreshed = self._renewed(token, what, "HTTP 401"), True
                    continue
                raise
            code = body.get("error") if isinstance(body, dict) else None
            if code == 0:
                return body.get("data")
            message = body.get("message") if isinstance(body, dict) else body
            if code in TOKEN_ERRORS and not refreshed:
                token, refreshed = self._renewed(token, what, f"error {code} ({message})"), True
                continue
            if code in TRANSIENT_ERRORS:
                failures += 1
                if failures < self.client.retry.attempts:
                    wait = self.client.retry.backoff(failures)
                    log.warning("zalo %s: error %s (%s); retrying in %.1fs (try %d of %d)", what, code, message,
                                wait, failures + 1, self.client.retry.attempts)
                    self.client.sleep(wait)
                    continue
            log.error("zalo %s: error %s (%s); not sent", what, code, message)
            raise UpstreamError(f"zalo {what}: error {code} ({message})", 200, body,
                                code=code if isinstance(code, int) else None, transient=code in TRANSIENT_ERRORS)

    def _renewed(self, token: str, what: str, why: str) -> str:
        log.info("zalo %s: %s; refreshing the access token", what, why)
        return self.auth.after_rejection(token)

    def close(self) -> None:
        self.client.close()
        self.auth.close()
