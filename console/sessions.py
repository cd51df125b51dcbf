"""Staff sessions kept in Redis (the browser holds only a random id in the signed cookie).

A session ends after `CONSOLE_SESSION_IDLE_SECONDS` without a request, `CONSOLE_SESSION_MAX_SECONDS` after
login, at logout, and at once for everyone when the account's `session_epoch` moves (password change,
deactivation). Every web process sees the same sessions.
"""

from __future__ import annotations

import secrets
import time

from flask import current_app, session

from bot.extensions import get_redis
from services.models_staff import StaffUser

SID = "console_sid"


def _key(sid: str) -> str:
    return get_redis(current_app).key("console", "session", sid)


def _settings():  # type: ignore[no-untyped-def]
    return current_app.config["SETTINGS"]


def start(staff: StaffUser) -> None:
    """A fresh id at every login (no fixation), keeping the CSRF token the login form used."""
    end()
    csrf = session.get("csrf_token")
    session.clear()
    if csrf:
        session["csrf_token"] = csrf
    sid = secrets.token_urlsafe(32)
    now = time.time()
    client = get_redis(current_app).client
    assert client is not None
    pipe = client.pipeline()
    pipe.hset(_key(sid), mapping={"staff": staff.id, "epoch": staff.session_epoch, "login": now, "seen": now})
    pipe.expire(_key(sid), _settings().CONSOLE_SESSION_IDLE_SECONDS)
    pipe.execute()
    session[SID] = sid
    session.permanent = False  # the cookie goes with the browser; the server-side limits apply anyway


def lookup() -> tuple[int, int] | None:
    """(staff id, session epoch) of a live session, touching it; None when absent or expired."""
    sid = session.get(SID)
    if not sid:
        return None
    settings = _settings()
    client = get_redis(current_app).client
    assert client is not None
    raw = client.hgetall(_key(sid))
    now = time.time()
    if not raw:
        session.pop(SID, None)
        return None
    data = {k.decode(): v.decode() for k, v in raw.items()}
    if (
        now - float(data["login"]) > settings.CONSOLE_SESSION_MAX_SECONDS
        or now - float(data["seen"]) > settings.CONSOLE_SESSION_IDLE_SECONDS
    ):
        end()
        return None
    pipe = client.pipeline()
    pipe.hset(_key(sid), "seen", now)
    pipe.expire(_key(sid), settings.CONSOLE_SESSION_IDLE_SECONDS)
    pipe.execute()
    return int(data["staff"]), int(data["epoch"])


def end() -> None:
    sid = session.pop(SID, None)
    if sid:
        client = get_redis(current_app).client
        assert client is not None
        client.delete(_key(sid))
