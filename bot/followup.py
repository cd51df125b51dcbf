"""Background path for answers that cannot be passive replies: slow handlers and long texts.

Each follow-up runs on a small thread pool inside an app context and goes out as a customer-service
message through the API client, which keeps to the window the user opened (5 messages in 48 h after they
wrote to us) and to the shared rate limit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from flask import Flask

from bot.content import text
from bot.wechat.accounts import Article, OfficialAccountClient
from bot.wechat.errors import ErrorKind, SendResult
from bot.wechat.replies import News, Reply, Text, split_text

log = logging.getLogger(__name__)


# A follow-up WeChat could not take yet (busy, rate-limited) is tried again a few times, later.
MAX_TRIES = 4
MAX_RETRY_DELAY_SECONDS = 60.0

Part = Callable[[], SendResult]


def _short(openid: str) -> str:
    return openid[:6] + "…"


class FollowUps:
    def __init__(self, app: Flask, client: OfficialAccountClient, threads: int) -> None:
        self.app = app
        self.client = client
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="followup")
        self._closed = False

    def submit(self, openid: str, work: Callable[[], Reply | None]) -> None:
        self._spawn(self._run, openid, work)

    def send(self, openid: str, reply: Reply | None) -> None:
        self._spawn(self._run, openid, lambda: reply)

    def typing(self, openid: str) -> None:
        """Shows "对方正在输入" while a late answer is prepared (allowed right after a message)."""
        self._spawn(self._typing, openid)

    def _spawn(self, fn: Callable[..., None], *args: object) -> None:
        if not self._closed:
            self.pool.submit(self._logged, fn, *args)

    @staticmethod
    def _logged(fn: Callable[..., None], *args: object) -> None:
        # Nobody reads these futures: an exception left in one would vanish with the message.
        try:
            fn(*args)
        except Exception:
            log.exception("follow-up failed")

    def _typing(self, openid: str) -> None:
        result = self.client.typing(openid, on=True)
        if not result.ok:
            log.info("typing indicator for %s not shown: %s", _short(openid), result.errmsg)

    def _run(self, openid: str, work: Callable[[], Reply | None]) -> None:
        with self.app.app_context():
            try:
                reply = work()
            except Exception:
                log.exception("follow-up work for %s failed", _short(openid))
                reply = Text(text("apology"))
        self._send_parts(openid, self._parts(openid, reply), tries=1)

    def _parts(self, openid: str, reply: Reply | None) -> list[Part]:
        if isinstance(reply, Text):
            return [partial(self.client.send_text, openid, part) for part in split_text(reply.content)]
        if isinstance(reply, News):
            a = reply.article
            return [partial(self.client.send_news, openid, Article(a.title, a.description, a.url, a.image))]
        if reply is not None and not isinstance(reply, Reply):
            log.error("follow-up produced %r, which is not a reply", type(reply))
        return []

    def _send_parts(self, openid: str, parts: list[Part], tries: int) -> None:
        """In order; a part that fails stops the rest, since later parts without it would not make sense."""
        for index, part in enumerate(parts):
            result = part()
            if result.ok:
                continue
            retry = (
                result.kind in (ErrorKind.RETRYABLE, ErrorKind.RATE_LIMITED) and not result.maybe_delivered
            )
            if retry and tries < MAX_TRIES:
                delay = min(result.retry_after or 2.0**tries, MAX_RETRY_DELAY_SECONDS)
                log.warning(
                    "follow-up to %s: %s, trying again in %.0f s", _short(openid), result.errmsg, delay
                )
                timer = threading.Timer(
                    delay, self._spawn, (self._send_parts, openid, parts[index:], tries + 1)
                )
                timer.daemon = True
                timer.start()
            else:
                log.error(
                    "follow-up to %s not delivered: %s %s (%s)",
                    _short(openid),
                    result.errcode,
                    result.errmsg,
                    result.kind,
                )
            return

    def shutdown(self) -> None:
        self._closed = True
        self.pool.shutdown(wait=True)
