"""What each WeChat error code means for the caller, in one table, and the typed result every call returns.

Callers never look at raw dicts: a send gives a `SendResult` whose `kind` says what to do next (nothing, retry
later, stop for this recipient, fix the configuration, stop for the day); a query raises `WeChatAPIError`
carrying the same `kind`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    OK = "ok"
    RETRYABLE = "retryable"  # busy or a network failure: try again later with backoff
    RATE_LIMITED = "rate_limited"  # per-minute limit (ours or WeChat's 45011): try after `retry_after`
    TOKEN = "token"  # access_token rejected even after one refresh
    RECIPIENT = "recipient"  # permanent for this recipient: do not retry, fall back or mark the user
    CONFIG = "config"  # our configuration is wrong (template, page, permission): staff must fix it
    QUOTA = "quota"  # the daily quota is used up: stop this API until tomorrow
    REJECTED = "rejected"  # the request itself was refused (bad code, bad data): do not retry as is


@dataclass(frozen=True, slots=True)
class Policy:
    kind: ErrorKind
    meaning: str


# WeChat's codes that matter to us. Codes missing here are REJECTED: not retried, logged with their errmsg.
POLICY: dict[int, Policy] = {
    0: Policy(ErrorKind.OK, "ok"),
    -1: Policy(ErrorKind.RETRYABLE, "system busy"),
    45011: Policy(ErrorKind.RATE_LIMITED, "API minute-quota reached"),
    40001: Policy(ErrorKind.TOKEN, "access_token invalid"),
    40014: Policy(ErrorKind.TOKEN, "access_token not the latest"),
    42001: Policy(ErrorKind.TOKEN, "access_token expired"),
    40003: Policy(ErrorKind.RECIPIENT, "invalid openid"),
    43004: Policy(ErrorKind.RECIPIENT, "recipient does not follow the account"),
    43101: Policy(ErrorKind.RECIPIENT, "user refused the subscription (no credit)"),
    45015: Policy(ErrorKind.RECIPIENT, "customer-service window closed"),
    45047: Policy(ErrorKind.RECIPIENT, "customer-service message count exceeded"),
    40037: Policy(ErrorKind.CONFIG, "invalid template_id"),
    41030: Policy(ErrorKind.CONFIG, "invalid page"),
    48001: Policy(ErrorKind.CONFIG, "API not authorised for this account"),
    47003: Policy(ErrorKind.CONFIG, "template data does not meet the value rules"),
    40013: Policy(ErrorKind.CONFIG, "invalid appid"),
    40125: Policy(ErrorKind.CONFIG, "invalid appsecret"),
    40164: Policy(ErrorKind.CONFIG, "caller IP not in the whitelist"),
    45009: Policy(ErrorKind.QUOTA, "daily API quota reached"),
}


def classify(errcode: int) -> ErrorKind:
    policy = POLICY.get(errcode)
    return policy.kind if policy else ErrorKind.REJECTED


@dataclass(frozen=True, slots=True)
class SendResult:
    """The outcome of one call. `errcode` is None when WeChat never answered (network failure)."""

    api: str
    kind: ErrorKind
    errcode: int | None = 0
    errmsg: str = "ok"
    msgid: str | None = None
    retry_after: float | None = None
    # A send that timed out after the request went out may have been delivered: retrying can duplicate.
    maybe_delivered: bool = False
    # Refused by our own bookkeeping (window, quota stop, rate limit) without calling WeChat.
    local: bool = False
    data: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.kind is ErrorKind.OK


class WeChatAPIError(RuntimeError):
    def __init__(self, result: SendResult) -> None:
        super().__init__(f"{result.api}: {result.errcode} {result.errmsg} ({result.kind})")
        self.result = result
        self.kind = result.kind
        self.errcode = result.errcode
        self.errmsg = result.errmsg
