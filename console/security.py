"""CSRF tokens for every form and fetch, and the security headers on every console response."""

from __future__ import annotations

import hmac
import secrets

from flask import Response, abort, request, session
from markupsafe import Markup, escape

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# No inline scripts or styles anywhere in the console: scripts and CSS come from /console/static only.
# Charts are inline SVG drawn with presentation attributes, which CSP does not treat as inline style.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def csrf_token() -> str:
    """This browser session's token (made on first use; kept across login so an open form still works)."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return str(token)


def csrf_field() -> Markup:
    """`{{ csrf_field() }}` inside every <form method="post">."""
    return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf_token())}">')


def check_csrf() -> None:
    """Refuse (400) an unsafe request whose token (form field or header) does not match the session's."""
    if request.method not in UNSAFE:
        return
    expected = session.get(CSRF_FIELD)
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    if not expected or not hmac.compare_digest(str(expected), str(sent)):
        abort(400, description="页面已过期或请求来源无法确认，请刷新页面后重试。")


def add_headers(response: Response, secure: bool) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    # Staff pages carry personal data: never kept by the browser or a proxy.
    if not request.path.startswith("/console/static/"):
        response.headers["Cache-Control"] = "no-store"
    if secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response
