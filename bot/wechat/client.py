"""The call path shared by the Official Account and miniprogram clients.

Per call: the quota stop and the shared rate limit are checked, the shared token attached, the answer
classified by the error policy table (`errors.POLICY`), and the retries applied — all bounded:
- token rejected (40001/40014/42001): drop the token if it is still the one that failed, refresh, retry once;
- busy (-1) or no connection: up to `retry_attempts` more tries with backoff;
- WeChat's minute limit (45011): one more try after a short pause, then hand back `retry_after`;
- a send whose request went out but timed out is not retried here: it may have been delivered.
wechatpy's client is not used for this path: its `auto_retry` recurses without bound on token errors and its
token storage cannot compare-and-delete, which is what sharing a token between processes needs.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.request import getproxies

import requests
from redis import Redis
from redis.exceptions import RedisError
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NameResolutionError, NewConnectionError

from bot.wechat.errors import POLICY, ErrorKind, SendResult, WeChatAPIError, classify
from bot.wechat.limits import QuotaStop, RateLimiter
from bot.wechat.tokens import TokenStore

log = logging.getLogger(__name__)

ConfigAlert = Callable[[str, SendResult], None]  # (appid, result)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 2  # extra tries for busy / connection failures
    backoff: float = 0.2  # seconds, doubled per try
    rate_pause: float = 1.0  # pause before the one retry after 45011


def new_session(pool: int = 32) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # With trust_env, requests scans the whole environment for proxy and CA settings on every call (about
    # a millisecond of CPU each, as much as the rest of a send). Without proxies, the one setting that
    # matters (a CA bundle) is read here once; a .netrc has no business with WeChat's API.
    if not getproxies():
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        session.trust_env = False
    return session


class WeChatAPI:
    """One app (appid + secret) talking to `base`; subclasses add the calls the product uses."""

    def __init__(
        self,
        base: str,
        appid: str,
        secret: str,
        *,
        redis: Redis,
        key_prefix: str,
        token_margin: float,
        rates: dict[str, float],
        rate_max_wait: float,
        retry: RetryPolicy,
        timeout: float,
        on_config_error: ConfigAlert | None = None,
        session: requests.Session | None = None,
    ) -> None:
        """`key_prefix` namespaces this app's shared state in Redis (token, rate buckets, quota stops)."""
        self.base = base.rstrip("/")
        self.appid = appid
        self.secret = secret
        self.retry = retry
        self.timeout = timeout
        self.on_config_error = on_config_error
        self.session = session or new_session()
        self.tokens = TokenStore(
            redis, key_prefix + "token", self.fetch_token, token_margin, lock_timeout=2 * timeout + 1
        )
        self.limiter = RateLimiter(redis, key_prefix + "rate:", rates, rate_max_wait)
        self.quota = QuotaStop(redis, key_prefix + "quota:")

    # -- token ----------------------------------------------------------------------------------------
    def fetch_token(self) -> tuple[str, int]:
        """`stable_token` without force: WeChat hands every caller the same token until it nears expiry."""
        body = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        result = self._http(
            "stable_token", "POST", "/cgi-bin/stable_token", json={**body, "force_refresh": False}
        )
        if not result.ok or "access_token" not in result.data:
            self._report(result)
            raise WeChatAPIError(result)
        return str(result.data["access_token"]), int(result.data.get("expires_in", 7200))

    def access_token(self) -> str:
        return self.tokens.get()

    # -- the call path --------------------------------------------------------------------------------
    def call(
        self,
        api: str,
        path: str,
        payload: dict[str, Any] | None = None,
        *,
        method: str = "POST",
        params: dict[str, str] | None = None,
        with_token: bool = True,
        is_send: bool = False,
    ) -> SendResult:
        """One logical call with the bounded retries above; never raises (WeChat, network or Redis errors)."""
        try:
            stopped = self.quota.stopped_for(api)
            wait = self.limiter.acquire(api) if not stopped else 0.0
        except RedisError as exc:
            # Without the shared bookkeeping the call still goes: WeChat enforces its own limits.
            log.error("%s: rate/quota bookkeeping unavailable (%s); calling anyway", api, exc)
            stopped = wait = 0.0
        if stopped:
            return SendResult(
                api, ErrorKind.QUOTA, 45009, "daily quota used up", retry_after=stopped, local=True
            )
        if wait:
            return SendResult(
                api, ErrorKind.RATE_LIMITED, None, "local rate limit", retry_after=wait, local=True
            )

        token_retried = rate_retried = False
        busy_tries = 0
        while True:
            token = ""
            query = dict(params or {})
            if with_token:
                try:
                    token = self.access_token()
                except WeChatAPIError as exc:
                    failed = exc.result
                    return replace(failed, api=api, errmsg=f"access_token: {failed.errmsg}")
                except RedisError as exc:
                    return SendResult(api, ErrorKind.RETRYABLE, None, f"token store: {type(exc).__name__}")
                query["access_token"] = token
            result = self._http(api, method, path, params=query, json=payload, is_send=is_send)

            if result.kind is ErrorKind.TOKEN and with_token and not token_retried:
                token_retried = True
                log.warning("%s: access_token rejected (%s); refreshing once", api, result.errcode)
                try:
                    self.tokens.invalidate(token)
                except RedisError as exc:
                    log.error("could not drop the rejected token: %s", exc)
                continue
            retry_busy = result.kind is ErrorKind.RETRYABLE and not result.maybe_delivered
            if retry_busy and busy_tries < self.retry.attempts:
                time.sleep(self.retry.backoff * (2**busy_tries))
                busy_tries += 1
                continue
            if result.kind is ErrorKind.RATE_LIMITED and not rate_retried:
                rate_retried = True
                time.sleep(self.retry.rate_pause)
                continue
            if result.kind is ErrorKind.RATE_LIMITED:
                return _with(result, retry_after=60.0 - time.time() % 60)  # WeChat's limit is per minute
            if result.kind is ErrorKind.QUOTA:
                try:
                    return _with(result, retry_after=self.quota.stop(api))
                except RedisError:
                    return result
            self._report(result)
            return result

    def query(
        self, api: str, path: str, payload: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """A call whose answer we need: the data on success, `WeChatAPIError` otherwise."""
        result = self.call(api, path, payload, **kwargs)
        if not result.ok:
            raise WeChatAPIError(result)
        return result.data

    def _http(
        self,
        api: str,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        is_send: bool = False,
    ) -> SendResult:
        """One HTTP exchange, classified. Error texts name the exception only: its message carries the URL,
        whose query holds the access_token (or the app secret, for jscode2session)."""
        try:
            resp = self.session.request(
                method, self.base + path, params=params, json=json, timeout=self.timeout
            )
        except requests.ConnectTimeout:
            return SendResult(api, ErrorKind.RETRYABLE, None, "connect timeout")
        except requests.Timeout:
            # The request went out; WeChat may have acted on it before we stopped waiting.
            return SendResult(api, ErrorKind.RETRYABLE, None, "timeout", maybe_delivered=is_send)
        except requests.ConnectionError as exc:
            sent = is_send and not _never_connected(exc)
            return SendResult(api, ErrorKind.RETRYABLE, None, _describe(exc), maybe_delivered=sent)
        except requests.RequestException as exc:
            # Invalid URL, broken chunked body, redirects: nothing to retry blindly.
            return SendResult(api, ErrorKind.RETRYABLE, None, _describe(exc), maybe_delivered=is_send)
        try:
            data = resp.json()
        except ValueError:
            # A gateway's error page: for a send, WeChat behind it may have acted already.
            sent = is_send and resp.status_code >= 500
            return SendResult(
                api, ErrorKind.RETRYABLE, None, f"HTTP {resp.status_code}: not JSON", maybe_delivered=sent
            )
        if not isinstance(data, dict):
            return SendResult(api, ErrorKind.REJECTED, None, "answer is not a JSON object")
        try:
            errcode = int(data.get("errcode", 0) or 0)
        except (TypeError, ValueError):
            return SendResult(api, ErrorKind.REJECTED, None, "errcode is not a number", data=data)
        policy = POLICY.get(errcode)
        errmsg = str(data.get("errmsg") or (policy.meaning if policy else ""))
        msgid = data.get("msgid")
        return SendResult(
            api,
            classify(errcode),
            errcode,
            errmsg,
            msgid=str(msgid) if msgid is not None else None,
            data=data,
        )

    def _report(self, result: SendResult) -> None:
        if result.kind is ErrorKind.CONFIG:
            log.error("%s: configuration error %s %s", result.api, result.errcode, result.errmsg)
            if self.on_config_error is not None:
                try:
                    self.on_config_error(self.appid, result)
                except Exception:  # an alert must never turn into the caller's failure
                    log.exception("could not raise the configuration alert")
        elif not result.ok:
            log.warning("%s: %s %s (%s)", result.api, result.errcode, result.errmsg, result.kind)


def _with(result: SendResult, **changes: Any) -> SendResult:
    return replace(result, **changes)


def _never_connected(exc: requests.ConnectionError) -> bool:
    """Refused, unresolvable or unreachable: the request never left, so it can be retried safely."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | NameResolutionError)


def _describe(exc: Exception) -> str:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return type(exc).__name__ + (f" ({type(reason).__name__})" if reason is not None else "")
