"""JSON over HTTP to a messaging provider, retried with backoff when the provider is busy or down.

Retried: connection errors, timeouts, HTTP 429 and 5xx. A 429 that says how long to wait
(Telegram's ``parameters.retry_after``, or a ``Retry-After`` header) is waited out, up to
``RetryPolicy.max_wait``. Anything else is the caller's to judge; an error that is still
worth trying later (the provider was down) says so in :attr:`UpstreamError.transient`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries in all, the first included
    base_delay: float = 0.5  # doubled after each failed try
    max_delay: float = 8.0  # cap on the backoff between tries
    max_wait: float = 60.0  # a longer retry_after than this is not waited out

    def backoff(self, failures: int) -> float:
        return min(self.max_delay, self.base_delay * 2 ** (failures - 1))


ONCE = RetryPolicy(attempts=1)


class UpstreamError(Exception):
    """The provider did not accept the request (after retries, where retrying made sense)."""

    def __init__(self, message: str, status: int | None = None, body: Any = None, *,
                 transient: bool = False, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.transient = transient  # worth trying again later: the provider was busy or down
        self.code = code  # the provider's own error code, where it has one


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def retry_after(response: httpx.Response, body: Any) -> float | None:
    """Seconds the provider asks us to wait, if it says."""
    if isinstance(body, dict):
        params = body.get("parameters")
        if isinstance(params, dict) and isinstance(params.get("retry_after"), int | float):
            return float(params["retry_after"])
    header = response.headers.get("Retry-After", "")
    return float(header) if header.strip().isdigit() else None


class JsonClient:
    """POSTs to ``base_url + path`` (a JSON or form body) and returns the decoded JSON of a 2xx answer."""

    def __init__(
        self,
        base_url: str,
        name: str,
        *,
        timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        headers: dict[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name  # for log lines; never the URL, which may hold a token
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers or {})

    def post(self, path: str, payload: dict[str, Any] | None = None, *, form: dict[str, str] | None = None,
             headers: dict[str, str] | None = None, timeout: float | None = None, what: str = "",
             retry: RetryPolicy | None = None) -> Any:
        what = what or path.rsplit("/", 1)[-1]
        policy = retry or self.retry
        failures = 0
        while True:
            try:
                response = self._http.post(path, json=payload, data=form, headers=headers,
                                           timeout=timeout or self.timeout)
            except httpx.TransportError as exc:
                failures += 1
                problem, wait, status = f"{type(exc).__name__}", policy.backoff(failures), None
            else:
                body = _json(response)
                status = response.status_code
                if response.is_success:
                    return body
                if status != 429 and status < 500:
                    raise UpstreamError(f"{self.name} {what}: HTTP {status}", status, body)
                failures += 1
                problem = f"HTTP {status}"
                asked = retry_after(response, body)
                if asked is not None and asked > policy.max_wait:
                    log.error("%s %s: %s, asked to wait %.0fs; giving up", self.name, what, problem, asked)
                    raise UpstreamError(f"{self.name} {what}: {problem}", status, body, transient=True)
                wait = asked if asked is not None else policy.backoff(failures)
            if failures >= policy.attempts:
                log.error("%s %s: %s after %d tries; giving up", self.name, what, problem, failures)
                raise UpstreamError(f"{self.name} {what}: {problem} after {failures} tries", status,
                                    transient=True)
            log.warning("%s %s: %s; retrying in %.1fs (try %d of %d)",
                        self.name, what, problem, wait, failures + 1, policy.attempts)
            self.sleep(wait)

    def close(self) -> None:
        self._http.close()
