"""Sending one outbox row: which channel can reach the person now, and what WeChat answered.

Channels in order: a customer-service text while the 48 h window is open and its count allows; a one-time
subscription message while the ledger holds a credit (the miniprogram's openid first, then the Official
Account's bizsend); the Official Account template message. A channel that cannot be used for this person
(no openid, window closed, no credit, values that do not fit) is passed over; a refusal that is about the
person (RECIPIENT) moves on to the next channel; anything else ends the row's attempt with a verdict.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from redis.exceptions import RedisError

from bot.wechat.accounts import MiniprogramClient, OfficialAccountClient
from bot.wechat.errors import ErrorKind, SendResult
from bot.wechat.limits import CHINA, CustomerServiceWindow
from services import delivery_templates
from services.delivery_templates import Template

log = logging.getLogger(__name__)

Verdict = Literal["sent", "retry", "rate_limited", "quota", "failed", "skipped"]
CS_TEXT_BYTES = 2000  # WeChat's text limit is 2048 bytes; leave room for the title line


@dataclass(frozen=True, slots=True)
class Recipient:
    row_id: int
    notice_id: int
    user_id: int
    attempts: int
    openid: str | None  # miniprogram
    oa_openid: str | None  # Official Account
    mp_credit: bool = False  # the ledger holds a credit for the notice's subscription template
    oa_credit: bool = False
    window_open: bool = True  # per our mirror of the customer-service window; False skips that channel


@dataclass(frozen=True, slots=True)
class NoticeInfo:
    id: int
    title: str
    body: str
    values: dict[str, str]
    page: str | None
    template: Template | None
    cancelled: bool


@dataclass(slots=True)
class Outcome:
    verdict: Verdict
    channel: str | None = None
    error_code: int | None = None
    reason: str | None = None
    msgid: str | None = None
    retry_after: float | None = None
    payload: dict[str, Any] | None = None
    spent: tuple[str, str] | None = None  # (openid, template_id) whose credit this send used
    cleared: list[tuple[str, str]] = field(default_factory=list)  # credits WeChat says are gone (43101)


def notice_values(
    title: str, body: str, values: dict[str, Any], created_at: datetime | None
) -> dict[str, str]:
    when = created_at or datetime.now(UTC)
    when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(CHINA)  # SQLite: naive UTC
    built_in = {
        "title": title,
        "body": body,
        "created": f"{when.year}年{when.month}月{when.day}日 {when:%H:%M}",
    }
    return {**built_in, **{str(k): str(v) for k, v in values.items()}}


def cs_text(title: str, body: str) -> str:
    text = f"【{title}】\n{body}" if title else body
    raw = text.encode()
    if len(raw) <= CS_TEXT_BYTES:
        return text
    return raw[: CS_TEXT_BYTES - 3].decode(errors="ignore") + "…"


def open_windows(window: CustomerServiceWindow) -> Callable[[list[str]], set[str]]:
    """Which openids' customer-service windows look open in our Redis mirror: one MGET for a whole batch,
    so closed windows (most people, for a broadcast) cost no call at all. The send itself still takes the
    window atomically; when Redis cannot answer here, every window counts as open and the send decides."""

    def check(openids: list[str]) -> set[str]:
        if not openids:
            return set()
        try:
            values = window.redis.mget([window.key(o) for o in openids])
        except RedisError as exc:
            log.warning("window lookup failed (%s): letting each send check", exc)
            return set(openids)
        now = time.time()
        found = set()
        for openid, raw in zip(openids, values, strict=True):
            if raw:
                expires_at, left, *_ = raw.decode().split(
                    ":", 3
                )  # limits.py's "<expires>:<left>:<kind>:<opener>"
                if float(expires_at) > now and int(left) > 0:
                    found.add(openid)
        return found

    return check


class Sender:
    def __init__(self, oa: OfficialAccountClient, mp: MiniprogramClient | None) -> None:
        self.oa = oa
        self.mp = mp

    def send(self, who: Recipient, notice: NoticeInfo) -> Outcome:
        """Try the channels in order; never raises (the clients never do)."""
        if not who.openid and not who.oa_openid:
            return Outcome("skipped", reason="no_openid")
        cleared: list[tuple[str, str]] = []
        failure: Outcome | None = None
        unusable: list[str] = []
        for channel, result, payload, spent in self._channels(who, notice, unusable):
            if result.errcode == 43101 and spent is not None:
                cleared.append(spent)
            outcome = self._judge(channel, result, payload, spent)
            if outcome is not None:
                outcome.cleared = cleared
                return outcome
            # A refusal about this person: remember it and try the next channel. Our own bookkeeping's
            # refusal (window closed or used up) means the channel was simply not open.
            if result.local:
                unusable.append(f"{channel}:{result.errcode}")
            else:
                failure = Outcome(
                    "failed", channel=channel, error_code=result.errcode, reason=result.errmsg[:200]
                )
        if failure is not None:
            failure.cleared = cleared
            return failure
        # The details (which channel was closed, which value did not fit) go with the row, not the reason,
        # so that progress counts group by reason.
        return Outcome("skipped", reason="no_channel", payload={"unusable": unusable}, cleared=cleared)

    def _channels(self, who: Recipient, notice: NoticeInfo, unusable: list[str]) -> Any:
        """Yields (channel, result, payload, credit used) per send actually made, in preference order."""
        if who.oa_openid and not who.window_open:
            unusable.append("customer_service:45015")  # closed per our mirror: no call made
        elif who.oa_openid:
            text = cs_text(notice.title, notice.body)
            yield "customer_service", self.oa.send_text(who.oa_openid, text), {"msgtype": "text"}, None
        template = notice.template
        if template is None:
            return
        if template.subscription:
            data, problem = delivery_templates.render(template, "subscription", notice.values)
            if problem:
                unusable.append(f"subscription: {problem}")
            else:
                tid = template.subscription
                page = notice.page or template.page
                payload = {"template_id": tid, "data": data}
                if who.openid and who.mp_credit and self.mp is not None:
                    result = self.mp.send_subscribe_message(who.openid, tid, data, page=page)
                    yield "subscription", result, {**payload, "api": "subscribe_send"}, (who.openid, tid)
                if who.oa_openid and who.oa_credit:
                    result = self.oa.send_subscription_notice(who.oa_openid, tid, data, page=page)
                    yield "subscription", result, {**payload, "api": "bizsend"}, (who.oa_openid, tid)
        if template.template and who.oa_openid:
            data, problem = delivery_templates.render(template, "template", notice.values)
            if problem:
                unusable.append(f"template: {problem}")
                return
            # WeChat delivers a template message once per client_msg_id: a resend after a crash is a no-op.
            result = self.oa.send_template(
                who.oa_openid, template.template, data, client_msg_id=f"outbox-{who.row_id}"
            )
            yield "template", result, {"template_id": template.template, "data": data}, None

    @staticmethod
    def _judge(
        channel: str, result: SendResult, payload: dict[str, Any], spent: tuple[str, str] | None
    ) -> Outcome | None:
        """The row's verdict from one answer, or None to try the next channel."""
        kind = result.kind
        if kind is ErrorKind.OK:
            return Outcome("sent", channel=channel, msgid=result.msgid, payload=payload, spent=spent)
        if kind is ErrorKind.RECIPIENT:
            return None
        common = {"channel": channel, "error_code": result.errcode, "reason": result.errmsg[:200]}
        if kind is ErrorKind.RATE_LIMITED:
            return Outcome("rate_limited", retry_after=result.retry_after or 1.0, **common)
        if kind is ErrorKind.QUOTA:
            return Outcome("quota", retry_after=result.retry_after or 60.0, **common)
        if kind in (ErrorKind.RETRYABLE, ErrorKind.TOKEN):
            return Outcome("retry", **common)
        return Outcome("failed", **common)  # CONFIG, REJECTED: staff must fix; retrying changes nothing
