"""Who is signed in to the console, what they may open, and the login/logout screens.

Every console endpoint needs a signed-in staff member except those in `PUBLIC`; a view without
`@require_role(...)` is refused to everyone (so a forgotten decorator fails closed, and the role matrix test
finds it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from redis.exceptions import RedisError
from werkzeug.wrappers import Response

from bot.extensions import db, get_redis
from console import sessions
from console.blueprint import bp
from services import audit
from services.models_staff import StaffUser
from services.staff import Locked, LoginFailed, authenticate, has_role

log = logging.getLogger(__name__)
PUBLIC = frozenset({"console.login", "console.static"})
F = TypeVar("F", bound=Callable[..., Any])


def current_staff() -> StaffUser | None:
    """The signed-in, active staff member for this request (looked up once per request)."""
    if "console_staff" in g:
        staff: StaffUser | None = g.console_staff
        return staff
    staff = None
    found = sessions.lookup()
    if found is not None:
        candidate = db.session.get(StaffUser, found[0])
        if candidate is not None and candidate.active and candidate.session_epoch == found[1]:
            staff = candidate
        else:
            sessions.end()
    g.console_staff = staff
    return staff


def wants_json() -> bool:
    return request.path.endswith(".json") or request.accept_mimetypes.best == "application/json"


def require_role(*roles: str) -> Callable[[F], F]:
    """Allow staff holding one of `roles` (admin counts as every role; see services.staff.IMPLIES)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            staff = current_staff()
            if staff is None:
                return login_redirect()
            if not has_role(staff, *roles):
                abort(403)
            return view(*args, **kwargs)

        wrapper.required_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def login_redirect() -> Response:
    if wants_json():
        response = jsonify(error={"code": "login_required", "message": "登录已失效，请重新登录。"})
        response.status_code = 401
        return response
    target = request.full_path if request.method == "GET" else request.path
    return redirect(url_for("console.login", next=target.rstrip("?")))


def guard() -> Response | None:
    """Before every console request: sign-in first, then (for routes) that the view declares its roles."""
    endpoint = request.endpoint or ""
    if endpoint in PUBLIC or not endpoint.startswith("console."):
        return None
    if current_staff() is None:
        return login_redirect()
    view = current_app.view_functions.get(endpoint)
    if view is not None and not getattr(view, "required_roles", None):
        log.error("console view %s has no @require_role: refused", endpoint)
        abort(403)
    return None


def _safe_next(target: str | None) -> str:
    """Only our own console paths: a login link must not bounce staff to another site."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/console/"):
            return target
    return url_for("console.dashboard")


def _too_many(username: str) -> int | None:
    """Seconds to wait when this IP or this username has used up its attempts for the minute."""
    limit = current_app.config["SETTINGS"].CONSOLE_LOGIN_RATE_PER_MINUTE
    if limit <= 0:
        return None
    rx = get_redis(current_app)
    assert rx.client is not None
    now = time.time()
    window = str(int(now // 60))
    keys = [
        rx.key("console", "login", "ip", request.remote_addr or "unknown", window),
        rx.key("console", "login", "user", username.lower()[:64], window),
    ]
    pipe = rx.client.pipeline()
    for key in keys:
        pipe.incr(key)
        pipe.expire(key, 61)
    counts = pipe.execute()[0::2]
    if max(int(c) for c in counts) > limit:
        return max(1, int((int(window) + 1) * 60 - now + 0.999))
    return None


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        if current_staff() is not None:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("console/login.html", next=request.args.get("next", ""))
    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    next_url = request.form.get("next") or ""
    if not username or not password:
        flash("请输入用户名和密码。", "error")
        return render_template("console/login.html", next=next_url, username=username), 400
    try:
        wait = _too_many(username)
    except RedisError as exc:
        log.error("console login unavailable: Redis %s", exc)
        abort(503)
    if wait is not None:
        audit.record(
            db.session,
            "anonymous",
            "login.rate_limited",
            f"staff_user:{username[:64]}",
            {"ip": request.remote_addr},
        )
        flash(f"尝试次数过多，请 {wait} 秒后再试。", "error")
        response = current_app.make_response(
            (render_template("console/login.html", next=next_url, username=username), 429)
        )
        response.headers["Retry-After"] = str(wait)
        return response
    settings = current_app.config["SETTINGS"]
    try:
        staff = authenticate(
            db.session,
            username,
            password,
            max_failures=settings.CONSOLE_LOGIN_MAX_FAILURES,
            lockout_seconds=settings.CONSOLE_LOCKOUT_SECONDS,
        )
    except (LoginFailed, Locked) as exc:
        flash(exc.message, "error")
        return render_template("console/login.html", next=next_url, username=username), 401
    sessions.start(staff)
    g.console_staff = staff
    return redirect(_safe_next(next_url))


@bp.route("/logout", methods=["POST"])
@require_role("viewer")
def logout() -> Response:
    staff = current_staff()
    if staff is not None:
        audit.record(db.session, audit.actor_of(staff), "logout", f"staff_user:{staff.username}")
    sessions.end()
    g.console_staff = None
    flash("您已安全退出。", "info")
    return redirect(url_for("console.login"))
