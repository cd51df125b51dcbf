"""WeChat's error codes with the errmsg texts WeChat sends, so that clients see what they would see live.

WeChat appends a request id (`rid: …`) to every error message; we do the same, which keeps clients honest
about matching on `errcode` rather than on the text.
"""

from __future__ import annotations

import secrets
from typing import Any

ERRMSG: dict[int, str] = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40014: "invalid access_token",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40026: "invalid sub button key size",
    40027: "invalid sub button url size",
    40029: "invalid code",
    40037: "invalid template_id",
    40066: "invalid url",
    40125: "invalid appsecret",
    40163: "code been used",
    40164: "invalid ip, not in whitelist",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    41009: "missing openid",
    41030: "invalid page",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    44002: "empty post data",
    44003: "empty news data",
    44004: "empty content",
    45002: "content size out of limit",
    45008: "article size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit, must slower, retry next minute",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    45065: "clientmsgid exist",
    46003: "menu no exist",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
    87014: "risky content",
}

OK: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}


def rid() -> str:
    return "-".join(secrets.token_hex(4) for _ in range(3))


def error(errcode: int, detail: str | None = None) -> dict[str, Any]:
    """WeChat's error body: the code's own text, an optional hint, then the request id."""
    if errcode == 0:
        return dict(OK)  # an injected "ok" looks exactly like a real one
    text = ERRMSG.get(errcode, "unknown error")
    if detail:
        text = f"{text} {detail}" if errcode == 47003 else f"{text} hint: [{detail}]"
    return {"errcode": errcode, "errmsg": f"{text} rid: {rid()}"}


def ok(**extra: Any) -> dict[str, Any]:
    return {**OK, **extra}
