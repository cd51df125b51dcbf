"""Who is calling (bearer token → user), what they may do (consent), and how often (Redis rate limits)."""

from __future__ import annotations

import logging
import time

from flask import current_app, g, request
from redis.exceptions import RedisError

from bot.extensions import db, get_redis
from miniprogram_api.errors import ApiError
from services import sessions
from services.models import User

log = logging.getLogger(__name__)


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate() -> User:
    """The logged-in user, or 401 (missing, unknown, expired, revoked or erased: all look the same)."""
    token = bearer_token()
    found = sessions.lookup(db.session(), token) if token else None
    if found is None:
        raise ApiError(401, "unauthorized", "登录已失效，请重新登录", headers={"WWW-Authenticate": "Bearer"})
    g.api_token = token
    g.api_user = found[1]
    return found[1]


def require_consent(user: User) -> None:
    """Personal data (name, phone) is only collected after privacy consent, and for under-14s after a
    guardian's consent too (PIPL art. 31)."""
    if user.privacy_consent_at is None:
        raise ApiError(403, "consent_required", "请先阅读并同意隐私政策")
    if user.age_band == "under14" and user.guardian_consent_at is None:
        raise ApiError(403, "guardian_consent_required", "未满14周岁需监护人同意后才能报名")


def rate_limit(bucket: str, who: str, per_minute: int) -> None:
    """A fixed one-minute window per (bucket, caller), counted in Redis so every process shares it.

    A Redis outage lets the request through (logged): a limit is not worth an outage of the API.
    """
    if per_minute <= 0:
        return
    now = time.time()
    window = int(now // 60)
    rx = get_redis(current_app)
    key = rx.key("api", "rl", bucket, who, str(window))
    try:
        assert rx.client is not None
        pipe = rx.client.pipeline()
        pipe.incr(key)
        pipe.expire(key, 61)
        count = int(pipe.execute()[0])
    except RedisError as exc:
        log.error("API rate limit unavailable (%s); letting the request through", exc)
        return
    if count > per_minute:
        retry_after = max(1, int((window + 1) * 60 - now + 0.999))
        raise ApiError(
            429, "rate_limited", "操作太频繁，请稍后再试", headers={"Retry-After": str(retry_after)}
        )


def client_ip() -> str:
    # Behind a proxy, wrap the app in werkzeug's ProxyFix so that remote_addr is the client's address.
    return request.remote_addr or "unknown"
