"""The staff console at /console: one blueprint, screens in `console/screens/` (each module found there is
imported and adds its routes to `console.blueprint.bp`), login and roles in `console/auth.py`, CSRF and
security headers in `console/security.py`. See console/README.md.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from datetime import datetime
from typing import Any

from flask import Flask, flash, g, jsonify, redirect, render_template, request, url_for
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.wrappers import Response

from console import auth, security
from console.blueprint import NAV, bp
from services.eligibility import BEIJING, aware
from services.errors import DomainError, Forbidden, NotFound
from services.staff import ROLE_LABELS, can_read_crisis, has_role, visible_phone, visible_text

_loaded = False


def _load_screens() -> None:
    """Import every screen module once, before the blueprint is first registered."""
    global _loaded
    if _loaded:
        return
    from console import screens

    for info in sorted(pkgutil.iter_modules(screens.__path__), key=lambda m: m.name):
        importlib.import_module(f"console.screens.{info.name}")
    _loaded = True


def _context() -> dict[str, Any]:
    if not request.path.startswith("/console"):
        return {}
    staff = auth.current_staff() if request.endpoint != "console.static" else None
    return {
        "staff": staff,
        "nav_items": [item for item in NAV if staff is not None and has_role(staff, *item.roles)],
        "csrf_field": security.csrf_field,
        "csrf_token": security.csrf_token,
        "role_labels": ROLE_LABELS,
        "has_role": lambda *roles: has_role(staff, *roles),
        "can_read_crisis": can_read_crisis(staff),
        "show_phone": lambda phone, purpose: visible_phone(staff, phone, purpose),
        "show_text": lambda text, purpose: visible_text(staff, text or "", purpose),
    }


def beijing_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    value = aware(value)
    return value.astimezone(BEIJING).strftime(fmt) if value else ""


def _error_page(status: int, message: str) -> Any:
    if auth.wants_json():
        return jsonify(error={"code": str(status), "message": message}), status
    return render_template("console/error.html", status=status, message=message), status


MESSAGES = {
    400: "请求有误，请返回重试。",
    403: "您没有权限访问这个页面。",
    404: "没有找到这个页面或记录。",
    405: "不支持这个操作。",
    429: "操作太频繁，请稍后再试。",
    503: "系统暂时不可用，请稍后再试。",
}


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    status = exc.code or 500
    description = exc.description if status in (400, 503) and exc.description else None
    # Werkzeug's English defaults are not for staff; our own abort() descriptions are Chinese.
    if description and not any("\u4e00" <= ch <= "\u9fff" for ch in description):
        description = None
    return _error_page(status, description or MESSAGES.get(status, "出错了，请稍后再试。"))


@bp.errorhandler(RedisError)
def _redis_down(exc: RedisError) -> Any:
    # Sessions and login limits live in Redis: without it nobody can be let in safely.
    logging.getLogger(__name__).error("console unavailable, Redis: %s", exc)
    g.console_staff = None  # the page itself must not ask Redis who is signed in
    return _error_page(503, MESSAGES[503])


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError) -> Any:
    if isinstance(exc, Forbidden):
        return _error_page(403, exc.message)
    if isinstance(exc, NotFound):
        return _error_page(404, exc.message)
    if auth.wants_json() or request.method == "GET":
        if auth.wants_json():
            return jsonify(error={"code": exc.code, "message": exc.message, "fields": exc.fields}), 400
        return _error_page(400, exc.message)
    details = "；".join((exc.fields or {}).values())
    flash(exc.message + (f"（{details}）" if details else ""), "error")
    back = g.get("console_back") or request.referrer or ""
    host = request.host_url.rstrip("/")
    if back.startswith(host + "/console/"):
        back = back[len(host) :]
    return redirect(back if back.startswith("/console/") else url_for("console.dashboard"))


def init_app(app: Flask) -> None:
    _load_screens()
    settings = app.config["SETTINGS"]
    # Flask's defaults: HttpOnly on, SameSite unset. Lax keeps the cookie off cross-site posts.
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if settings.is_production:
        app.config["SESSION_COOKIE_SECURE"] = True
    app.register_blueprint(bp)
    app.add_template_filter(beijing_time, "bj")
    # App-wide (not only the blueprint's) so that the 404 page of an unknown /console path has it too.
    app.context_processor(_context)

    # Routing errors under /console (unknown path, wrong method) match no blueprint route, so only an
    # app-wide handler sees them. Other doors (the API's envelope) registered theirs first: pass the rest on.
    for exc_class in (RouteNotFound, MethodNotAllowed):
        _chain_routing_error(app, exc_class)

    @app.after_request
    def _console_headers(response: Response) -> Response:
        if request.path == "/console" or request.path.startswith("/console/"):
            security.add_headers(response, settings.is_production)
        return response

    from console import cli

    cli.init_app(app)


def _chain_routing_error(app: Flask, exc_class: type[HTTPException]) -> None:
    code = exc_class.code
    assert code is not None
    previous = app.error_handler_spec.get(None, {}).get(code, {}).get(exc_class)

    def handler(exc: HTTPException) -> Any:
        if request.path.startswith("/console/"):
            return _error_page(code, MESSAGES[code])
        return previous(exc) if previous is not None else exc

    app.register_error_handler(code, handler)


@bp.before_request
def _before() -> Any:
    response = auth.guard()
    if response is not None:
        return response
    security.check_csrf()
    return None


@bp.route("/")
@auth.require_role("viewer")
def index() -> Response:
    return redirect(url_for("console.dashboard"))
