"""Handling one decrypted push exactly once and always producing an answer for WeChat.

Per message, in the common case: one Redis round trip to claim the dedup key, load the conversation and
buffer the message-log entry; the handler on a worker thread under the reply budget; one round trip to
store the answer (for retries) and the conversation. A retry that arrives while the first try is still
running waits for the first try's answer instead of running the handler again.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from bot import message_log, transcript
from bot.content import text
from bot.dialogue.context import Call, Context
from bot.dialogue.router import route
from bot.dialogue.state import ConversationState
from bot.extensions import RedisExtension
from bot.followup import FollowUps
from bot.redis_batch import Batch
from bot.settings import Settings
from bot.wechat.limits import WINDOW_EVENTS
from bot.wechat.messages import InboundMessage
from bot.wechat.replies import MAX_TEXT_BYTES, FollowUp, Reply, Success, Text, split_text
from services.message_log import entry_for

log = logging.getLogger(__name__)

PENDING = b"\x00pending"
SUCCESS = "success"
RETRY_POLL_SECONDS = 0.02


class InboundProcessor:
    def __init__(self, app: Flask, redis_ext: RedisExtension, followups: FollowUps) -> None:
        self.app = app
        self.settings: Settings = app.config["SETTINGS"]
        self.rx = redis_ext
        self.followups = followups
        self.window = followups.client.window
        self.pool = ThreadPoolExecutor(
            max_workers=self.settings.HANDLER_THREADS, thread_name_prefix="handler"
        )
        self.flusher = message_log.Flusher(app)
        # The in-process stand-in dies with the process, so buffering there could lose messages.
        self.buffered = self.settings.MESSAGE_LOG_MODE == "buffered" and not redis_ext.embedded

    # -- the whole path -------------------------------------------------------------------------------
    def process(self, msg: InboundMessage) -> str:
        """The passive reply for `msg` as plaintext XML, or "success"; never raises."""
        dedup_key = self.rx.key("dedup", msg.dedup_key)
        conv_key = self.rx.key("conv", msg.from_user)
        entry = entry_for(msg)
        try:
            first, raw_state = self._claim(dedup_key, conv_key, entry, msg)
            redis_ok = True
        except RedisError as exc:
            log.error("redis unavailable, falling back to database dedup: %s", exc)
            redis_ok = False
            raw_state = None
            first = self._claim_in_database(entry)
        if not first:
            return self._wait_for_first_try(dedup_key) if redis_ok else SUCCESS

        state = ConversationState.from_raw(raw_state)
        ctx = Context(message=msg, state=state, settings=self.settings)
        body, said = self._run_handler(ctx, conv_key)
        if redis_ok:
            self._finish(dedup_key, body, state, conv_key, msg, said)
        return body

    # -- dedup ----------------------------------------------------------------------------------------
    def _claim(
        self, dedup_key: str, conv_key: str, entry: dict[str, Any], msg: InboundMessage
    ) -> tuple[bool, bytes | None]:
        client = self.rx.client
        assert client is not None
        batch = (
            Batch().set(dedup_key, PENDING, nx=True, ex=self.settings.DEDUP_PENDING_TTL_SECONDS).get(conv_key)
        )
        # What the user just did decides whether we may send them customer-service messages.
        if not msg.is_event or msg.event in WINDOW_EVENTS:
            self.window.open_into(batch, msg.from_user, msg.dedup_key, by_message=not msg.is_event)
        elif msg.event == "unsubscribe":
            self.window.close_into(batch, msg.from_user)
        if self.buffered:
            # Retries are buffered too; the database skips duplicate dedup keys when the batch lands.
            message_log.push_into(batch, self.rx.key(message_log.BUFFER), entry)
        claimed, raw_state, *_ = batch.execute(client)
        if isinstance(claimed, Exception) or isinstance(raw_state, Exception):
            raise RedisError(f"claim failed: {claimed!r} {raw_state!r}")
        if self.buffered:
            self.flusher.ensure_started()
        elif claimed:
            # If Redis lost an earlier claim (restart, eviction), the unique key still knows the message.
            claimed = self._record_sync(entry)
        return bool(claimed), raw_state

    def _record_sync(self, entry: dict[str, Any]) -> bool:
        try:
            return message_log.record_now(self.app, entry)
        except SQLAlchemyError as exc:
            # Recording must not cost the user an answer; the error is logged for staff.
            log.error("message log write failed for %s: %s", entry["dedup_key"], exc)
            return True

    def _claim_in_database(self, entry: dict[str, Any]) -> bool:
        try:
            return message_log.record_now(self.app, entry)
        except SQLAlchemyError as exc:
            # Neither store can dedup: answering twice is better than not answering at all.
            log.error("database unavailable too, handling without dedup: %s", exc)
            return True

    def _wait_for_first_try(self, dedup_key: str) -> str:
        client = self.rx.client
        assert client is not None
        deadline = time.monotonic() + self.settings.DEDUP_RETRY_WAIT_SECONDS
        try:
            while True:
                value = client.get(dedup_key)
                if value is None:
                    return SUCCESS  # the first try died and its claim expired; WeChat will not get a reply
                if value != PENDING:
                    return value.decode()
                if time.monotonic() >= deadline:
                    return SUCCESS
                time.sleep(RETRY_POLL_SECONDS)
        except RedisError as exc:
            log.error("redis failed while a retry waited: %s", exc)
            return SUCCESS

    def _finish(
        self,
        dedup_key: str,
        body: str,
        state: ConversationState,
        conv_key: str,
        msg: InboundMessage,
        said: str | None,
    ) -> None:
        client = self.rx.client
        assert client is not None
        batch = Batch().set(dedup_key, body, ex=self.settings.DEDUP_TTL_SECONDS)
        state.save_into(batch, conv_key, self.settings.CONVERSATION_TTL_SECONDS)
        # Written here, once per message, rather than in the claim, which retries repeat.
        ring, ttl = self.rx.key("transcript", msg.from_user), self.settings.TRANSCRIPT_TTL_SECONDS
        if msg.text:
            transcript.push_into(batch, ring, "user", msg.text, ttl)
        if said:
            transcript.push_into(batch, ring, "bot", said, ttl)
        try:
            batch.execute(client)
        except RedisError as exc:
            log.error("could not store the answer for retries: %s", exc)

    # -- handler under the deadline -------------------------------------------------------------------
    def _run_handler(self, ctx: Context, conv_key: str) -> tuple[str, str | None]:
        """The rendered answer and, for the transcript, the text it says."""
        try:
            step = route(ctx)  # pure computation: classification, state, texts
            reply = step if not isinstance(step, Call) else self._guarded(step, ctx, conv_key)
        except Exception:
            log.exception("handler failed for %s", ctx.message.dedup_key)
            ctx.state.dirty = False  # a half-finished turn must not leave half-written conversation state
            reply = Text(text("apology"))
        if reply is None:
            return SUCCESS, None
        return self._render(reply, ctx), reply.content if isinstance(reply, Text) else None

    def _guarded(self, call: Call, ctx: Context, conv_key: str) -> Reply | None:
        """Run work that may wait on I/O on a worker; past the budget, answer later as a follow-up."""
        future = self.pool.submit(self._in_app, call)
        try:
            return future.result(timeout=self.settings.REPLY_BUDGET_SECONDS)
        except FutureTimeout:
            log.warning("handler for %s overran the reply budget; answering later", ctx.message.dedup_key)
            future.add_done_callback(lambda f: self._late_answer(f, ctx, conv_key))
            self.followups.typing(ctx.openid)
            return None

    def _in_app(self, call: Call) -> Reply:
        with self.app.app_context():
            return call.fn()

    def _render(self, reply: Reply, ctx: Context) -> str:
        msg = ctx.message
        if isinstance(reply, FollowUp):
            self.followups.submit(msg.from_user, reply.work)
        elif isinstance(reply, Text) and len(reply.content.encode()) > MAX_TEXT_BYTES:
            first, *rest = split_text(reply.content)
            reply = Text(first)
            # One follow-up for the remainder keeps the pieces in order (it is split again when sent).
            self.followups.send(msg.from_user, Text("".join(rest)))
        if isinstance(reply, Success):
            return SUCCESS
        return reply.render(msg.from_user, msg.to_user, int(time.time()))

    def _late_answer(self, future: Future, ctx: Context, conv_key: str) -> None:
        try:
            reply = future.result()
        except Exception:
            log.exception("late handler failed for %s", ctx.message.dedup_key)
            reply = Text(text("apology"))
            ctx.state.dirty = False
        if ctx.state.dirty and self.rx.client is not None:
            try:
                batch = Batch()
                ctx.state.save_into(batch, conv_key, self.settings.CONVERSATION_TTL_SECONDS)
                batch.execute(self.rx.client)
            except RedisError as exc:
                log.error("could not save conversation after a late answer: %s", exc)
        if isinstance(reply, FollowUp):
            self.followups.submit(ctx.openid, reply.work)
        else:
            self.followups.send(ctx.openid, reply)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.flusher.stop()
