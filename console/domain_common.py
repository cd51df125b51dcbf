"""Helpers the domain screens share: form parsing, page numbers, field errors, files, and who sees phones."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Response, abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from bot.extensions import db
from console.auth import current_staff
from console.blueprint import bp
from services.eligibility import BEIJING, aware
from services.errors import DomainError, Invalid

# Every role may read the staff lists (admin, editor and counselor imply viewer); changes need an editor.
READ = ("viewer",)
EDIT = ("editor",)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
UPLOAD_MAX_BYTES = 5 * 1024 * 1024
UPLOAD_ENDPOINTS = frozenset({"console.traineeship_import"})
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def page_arg() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def clean(value: object) -> str:
    """Typed text without control characters (PostgreSQL refuses NUL outright; none belongs in a record).
    Line breaks stay."""
    return _CONTROL.sub("", "" if value is None else str(value)).strip()


def form_text(name: str, limit: int | None = None) -> str | None:
    """One optional form field, cleaned and cut to `limit`; None when blank."""
    value = clean(request.form.get(name, ""))
    return (value[:limit] if limit else value) or None


def arg_text(name: str) -> str | None:
    """One optional query-string filter, cleaned; None when blank."""
    return clean(request.args.get(name, "")) or None


def form_values(names: tuple[str, ...]) -> dict[str, Any]:
    """The named fields as typed (blank stays blank: the services decide what blank means)."""
    return {name: clean(request.form.get(name, "")) for name in names}


def checkbox(name: str) -> bool:
    return request.form.get(name) in ("1", "on", "true", "yes")


def field_errors(exc: DomainError) -> dict[str, str]:
    return dict(exc.fields or {}) if isinstance(exc, Invalid) else {}


def back(default: str, **values: Any) -> BaseResponse:
    """Redirect to `next` when it is one of ours (a relative console path), else to `default`."""
    target = request.form.get("next") or request.args.get("next") or ""
    if target.startswith("/console/") and "//" not in target and "\\" not in target:
        return redirect(target)
    return redirect(url_for(default, **values))


def fail(exc: DomainError, default: str, **values: Any) -> BaseResponse:
    flash(exc.message, "error")
    return back(default, **values)


def move(action: Callable[..., Any], row_id: int, done: str, endpoint: str, **values: Any) -> BaseResponse:
    """Run a status move (publish, close, cancel) with the form's optional reason; flash what happened."""
    reason = form_text("reason", 200)
    try:
        row = action(db.session, current_staff(), row_id, reason)
    except DomainError as exc:
        return fail(exc, endpoint, **values)
    flash(done.format(title=row.title), "success")
    return back(endpoint, **values)


def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    stamp = aware(value)
    return stamp.astimezone(BEIJING).strftime(fmt) if stamp else ""


def input_value(value: datetime | None) -> str:
    """A stored time as a datetime-local input wants it (Beijing time)."""
    return local(value, "%Y-%m-%dT%H:%M")


def download(data: bytes, filename: str, fmt: str) -> Response:
    from urllib.parse import quote

    response = Response(data, mimetype=XLSX if fmt == "xlsx" else "text/csv; charset=utf-8")
    # RFC 5987: Chinese file names survive every browser.
    response.headers["Content-Disposition"] = (
        f"attachment; filename=export.{fmt}; filename*=UTF-8''{quote(filename)}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def export_format() -> str:
    fmt = request.args.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        abort(400)
    return fmt


@bp.app_template_filter("combine_page")
def _combine_page(args: dict[str, Any], page: int) -> dict[str, Any]:
    return {**args, "page": page}


@bp.before_app_request
def _upload_limit() -> None:
    """Uploads need more room than the app-wide limit (sized for webhook bodies). An app-level hook runs
    before the blueprint's CSRF check, which is the first to read the form."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = UPLOAD_MAX_BYTES
