"""Background path for answers that cannot be passive replies: slow handlers and long texts.

Each follow-up runs on a small thread pool inside an app context and goes out as a customer-service
message through the API client, which keeps to the window the user opened (5 messages in 48 h after they
wrote to us) and to the shared rate limit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from bot.content import text
from bot.wechat.accounts import Article, OfficialAccountClient
from bot.wechat.errors import SendResult
from bot.wechat.replies import News, Reply, Text, split_text

log = logging.getLogger(__name__)


class FollowUps:
    def __init__(self, app: Flask, client: OfficialAccountClient, threads: int) -> None:
        self.app = app
        self.client = client
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="followup")

    def submit(self, openid: str, work: Callable[[], Reply | None]) -> None:
        self.pool.submit(self._run, openid, work)

    def send(self, openid: str, reply: Reply | None) -> None:
        self.pool.submit(self._run, openid, lambda: reply)

    def typing(self, openid: str) -> None:
        """Shows "对方正在输入" while a late answer is prepared (allowed right after a message)."""
        self.pool.submit(self._typing, openid)

    def _typing(self, openid: str) -> None:
        result = self.client.typing(openid, on=True)
        if not result.ok:
            log.info("typing indicator for %s not shown: %s", openid[:6] + "…", result.errmsg)

    def _run(self, openid: str, work: Callable[[], Reply | None]) -> None:
        with self.app.app_context():
            try:
                reply = work()
            except Exception:
                log.exception("follow-up work for %s failed", openid[:6] + "…")
                reply = Text(text("apology"))
            self._deliver(openid, reply)

    def _deliver(self, openid: str, reply: Reply | None) -> None:
        results: list[SendResult] = []
        if isinstance(reply, Text):
            for part in split_text(reply.content):
                result = self.client.send_text(openid, part)
                results.append(result)
                if not result.ok:
                    break  # later parts without the earlier ones would not make sense
        elif isinstance(reply, News):
            a = reply.article
            results.append(self.client.send_news(openid, Article(a.title, a.description, a.url, a.image)))
        elif reply is not None and not isinstance(reply, Reply):
            log.error("follow-up produced %r, which is not a reply", type(reply))
        for result in results:
            if not result.ok:
                log.error(
                    "follow-up to %s not delivered: %s %s (%s)",
                    openid[:6] + "…",
                    result.errcode,
                    result.errmsg,
                    result.kind,
                )

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True)
