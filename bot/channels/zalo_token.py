"""The Zalo OA access token, kept fresh with the refresh token.

An OA access token lives about 25 hours; the refresh token that comes with it is valid about
three months and can be used once. A refresh is ``POST {ZALO_OAUTH_BASE}/v4/oa/access_token``
with the app secret key in the ``secret_key`` header and the form fields ``refresh_token``,
``app_id`` and ``grant_type=refresh_token``; the answer holds a new ``access_token``,
``refresh_token`` and ``expires_in`` (seconds), or an ``error`` (still HTTP 200).

Because the refresh token is single-use, every new pair is written to the data directory
(atomically, before it is used) and that stored pair wins over the environment's. The one
exception: a ``ZALO_REFRESH_TOKEN`` different from the one the stored chain started from means
the OA was authorised again, and the environment's pair starts a new chain.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.channels.http import JsonClient, RetryPolicy, UpstreamError

log = logging.getLogger(__name__)

FILENAME = "zalo_oa_token.json"
REFRESH_PATH = "/v4/oa/access_token"


@dataclass(frozen=True)
class TokenPair:
    access_token: str | None
    refresh_token: str | None
    expires_at: float | None = None  # epoch seconds; None when unknown (a token from the environment)
    seed: str | None = None  # fingerprint of the environment's refresh token that began this chain
    source: str = "env"  # "env" or "stored"


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class TokenFile:
    """The stored pair: one JSON file, replaced atomically, readable by the owner only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> TokenPair | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.error("zalo: cannot read the stored token %s (%s); using the environment's", self.path, exc)
            return None
        if not isinstance(data, dict) or not data.get("access_token"):
            return None
        return TokenPair(data.get("access_token"), data.get("refresh_token"), data.get("expires_at"),
                         data.get("seed"), "stored")

    def save(self, pair: TokenPair) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fields = {k: v for k, v in asdict(pair).items() if k != "source"}
        fd, tmp = tempfile.mkstemp(prefix=".zalo_token.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(fields, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Held while refreshing, so two processes never spend the same refresh token."""
        try:
            import fcntl
        except ImportError:  # not on POSIX: the in-process lock must do
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class ZaloAuth:
    def __init__(self, *, app_id: str, app_secret: str | None, access_token: str | None,
                 refresh_token: str | None, oauth_base: str, data_dir: Path, margin: float = 600.0,
                 retry: RetryPolicy | None = None) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.env = TokenPair(access_token, refresh_token, None, fingerprint(refresh_token) if refresh_token else None)
        self.file = TokenFile(data_dir / FILENAME)
        self.margin = margin  # refresh this many seconds before the token expires
        self.client = JsonClient(oauth_base, "zalo oauth", retry=retry)
        self._lock = threading.Lock()

    def current(self) -> TokenPair:
        stored = self.file.load()
        if stored and (stored.seed is None or self.env.seed is None or stored.seed == self.env.seed):
            return stored
        return self.env

    def access_token(self) -> str:
        """A token to call the API with, refreshed first when it is missing or about to expire."""
        with self._lock:
            pair = self.current()
            if self._can_refresh(pair) and (
                not pair.access_token or (pair.expires_at is not None and pair.expires_at - time.time() < self.margin)
            ):
                pair = self._refresh(pair)
        if not pair.access_token:
            raise UpstreamError("zalo: no access token (set ZALO_ACCESS_TOKEN or ZALO_REFRESH_TOKEN)")
        return pair.access_token

    def after_rejection(self, stale: str) -> str:
        """Zalo refused ``stale``: a token refreshed meanwhile, or a new one now."""
        with self._lock:
            pair = self.current()
            if pair.access_token and pair.access_token != stale:
                return pair.access_token
            if not self._can_refresh(pair):
                raise UpstreamError("zalo: the access token was refused and cannot be refreshed "
                                    "(set ZALO_REFRESH_TOKEN and ZALO_APP_SECRET)", code=-216)
            fresh = self._refresh(pair).access_token
            assert fresh
            return fresh

    def valid_until(self) -> float | None:
        return self.current().expires_at

    def _can_refresh(self, pair: TokenPair) -> bool:
        return bool(self.app_secret and pair.refresh_token)

    def _refresh(self, pair: TokenPair) -> TokenPair:
        with self.file.locked():
            latest = self.current()  # another process may have refreshed while we waited
            if latest.refresh_token != pair.refresh_token and latest.access_token:
                return latest
            assert self.app_secret and pair.refresh_token
            body = self.client.post(REFRESH_PATH, form={"refresh_token": pair.refresh_token, "app_id": self.app_id,
                                                        "grant_type": "refresh_token"},
                                    headers={"secret_key": self.app_secret}, what="oa/access_token")
            fresh = self._pair_from(body, pair)
            self.file.save(fresh)
        log.info("zalo: access token refreshed; valid for %.1f h", ((fresh.expires_at or 0) - time.time()) / 3600)
        return fresh

    def _pair_from(self, body: Any, old: TokenPair) -> TokenPair:
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str) or not body["access_token"]:
            code = body.get("error") if isinstance(body, dict) else None
            detail = (body.get("error_description") or body.get("message") or body.get("error_name")
                      if isinstance(body, dict) else body)
            log.error("zalo oauth: refresh refused: error %s (%s); authorise the app again", code, detail)
            # transient: the queued replies wait (and are retried) while someone authorises again
            raise UpstreamError(f"zalo oauth: refresh refused: error {code} ({detail})", None, body,
                                code=code if isinstance(code, int) else None, transient=True)
        try:
            expires_at = time.time() + float(body.get("expires_in", 0)) if body.get("expires_in") else None
        except (TypeError, ValueError):
            expires_at = None
        refresh = body.get("refresh_token") if isinstance(body.get("refresh_token"), str) else old.refresh_token
        return TokenPair(body["access_token"], refresh, expires_at, old.seed or self.env.seed, "stored")

    def close(self) -> None:
        self.client.close()
