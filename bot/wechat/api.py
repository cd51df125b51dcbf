"""The part of the WeChat API client the webhook needs: a shared access_token and customer-service sends.

The token is fetched with `stable_token` (which does not rotate on every call) and shared through Redis, so
processes do not invalidate each other's tokens. On a token error the cached copy is dropped only if it is
still the one that failed, then the call is retried once: never a loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests
from redis import Redis

log = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# Refresh this long before WeChat's own expiry so that no call goes out with a token about to die.
TOKEN_MARGIN_SECONDS = 300


class WeChatAPIError(RuntimeError):
    def __init__(self, errcode: int, errmsg: str, path: str) -> None:
        super().__init__(f"{path}: {errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass(slots=True)
class WeChatClient:
    base: str
    appid: str
    secret: str
    redis: Redis
    token_key: str
    timeout: float = 5.0
    session: requests.Session | None = None

    def _http(self) -> requests.Session:
        if self.session is None:
            self.session = requests.Session()
        return self.session

    def access_token(self) -> str:
        cached = self.redis.get(self.token_key)
        if cached:
            return cached.decode()
        return self._fetch_token()

    def _fetch_token(self) -> str:
        resp = self._http().post(
            f"{self.base}/cgi-bin/stable_token",
            json={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            timeout=self.timeout,
        )
        data = resp.json()
        if "access_token" not in data:
            raise WeChatAPIError(int(data.get("errcode", -1)), str(data.get("errmsg", "")), "stable_token")
        ttl = max(int(data.get("expires_in", 7200)) - TOKEN_MARGIN_SECONDS, 60)
        self.redis.set(self.token_key, data["access_token"], ex=ttl)
        return str(data["access_token"])

    def _drop_token_if(self, failed: str) -> None:
        # Another process may already have stored a fresh token; only drop the one that failed.
        pipe = self.redis.pipeline()
        pipe.watch(self.token_key)
        try:
            if (pipe.get(self.token_key) or b"").decode() == failed:
                pipe.multi()
                pipe.delete(self.token_key)
                pipe.execute()
        finally:
            pipe.reset()

    def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        for attempt in (1, 2):
            token = self.access_token()
            resp = self._http().post(
                f"{self.base}{path}", params={"access_token": token}, json=payload, timeout=self.timeout
            )
            data: dict[str, Any] = resp.json()
            code = int(data.get("errcode", 0) or 0)
            if code in TOKEN_ERRORS and attempt == 1:
                log.warning("access_token rejected (%s); refreshing once", code)
                self._drop_token_if(token)
                continue
            if code:
                raise WeChatAPIError(code, str(data.get("errmsg", "")), path)
            return data
        raise AssertionError("unreachable")

    def send_text(self, openid: str, content: str) -> None:
        self.post(
            "/cgi-bin/message/custom/send",
            {"touser": openid, "msgtype": "text", "text": {"content": content}},
        )

    def send_news(self, openid: str, title: str, description: str, url: str, picurl: str) -> None:
        article = {"title": title, "description": description, "url": url, "picurl": picurl}
        self.post(
            "/cgi-bin/message/custom/send",
            {"touser": openid, "msgtype": "news", "news": {"articles": [article]}},
        )
