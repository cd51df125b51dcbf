"""Helpers the domain screens share: form parsing, page numbers, field errors, files, and who sees phones."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask import Response, abort, flash, redirect, render_template, request, url_for
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
T = TypeVar("T")


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


def fail_back(exc: DomainError, list_endpoint: str, detail_endpoint: str, id_arg: str) -> BaseResponse:
    """A failed action on one row of a record's page (a sign-up, an application): back to the record the
    form names in `id_arg`, else to the list."""
    parent_id = request.form.get(id_arg, type=int)
    if parent_id is None:
        return fail(exc, list_endpoint)
    return fail(exc, detail_endpoint, **{id_arg: parent_id})


def move(action: Callable[..., Any], row_id: int, done: str, endpoint: str, id_arg: str) -> BaseResponse:
    """Run a status move (publish, close, cancel) with the form's optional reason; flash what happened and
    go back to the record's page (`endpoint` with `id_arg`)."""
    reason = form_text("reason", 200)
    try:
        row = action(db.session, current_staff(), row_id, reason)
    except DomainError as exc:
        return fail(exc, endpoint, **{id_arg: row_id})
    flash(done.format(title=row.title), "success")
    return back(endpoint, **{id_arg: row_id})


def no_reason(action: Callable[[Any, Any, int], T]) -> Callable[[Any, Any, int, str | None], T]:
    """A move that takes no reason (publish), in the shape `move` calls."""
    return lambda session, staff, row_id, _reason: action(session, staff, row_id)


def found_or_404(load: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """The record a URL names, loaded with `load(session, *args)`; 404 when the services say there is none."""
    try:
        return load(db.session, *args, **kwargs)
    except DomainError:
        abort(404)


def list_page(query: Callable[..., Any], template: str, **context: Any) -> str:
    """A list screen filtered by `status` and the keyword `q`, one page at a time."""
    status = arg_text("status")
    keyword = arg_text("q")
    result = query(db.session, status=status, keyword=keyword, page=page_arg())
    return render_template(template, result=result, status=status, q=keyword or "", **context)


def form_from(row: Any, fields: tuple[str, ...], times: tuple[str, ...] = ()) -> dict[str, Any]:
    """A stored record as its edit form shows it: times as datetime-local values, None as blank."""
    values = {name: getattr(row, name) for name in fields}
    for key in times:
        values[key] = input_value(getattr(row, key))
    return {k: "" if v is None else v for k, v in values.items()}


def save_form(
    save: Callable[[Any, Any, dict[str, Any]], Any],
    values: dict[str, Any],
    render: Callable[..., Any],
    done: str,
    endpoint: str,
    id_arg: str,
) -> Any:
    """Save a create or edit form with `save(session, staff, values)`. A domain error shows the form again
    (400, with its field errors); success flashes `done` and goes to the record's page."""
    try:
        row = save(db.session, current_staff(), values)
    except DomainError as exc:
        flash(exc.message, "error")
        return render(values, field_errors(exc), status=400)
    flash(done.format(title=row.title), "success")
    return redirect(url_for(endpoint, **{id_arg: row.id}))


def save_edit(
    update: Callable[[Any, Any, int, dict[str, Any]], Any],
    row: Any,
    values: dict[str, Any],
    render: Callable[..., Any],
    endpoint: str,
    id_arg: str,
) -> Any:
    """Save the edit form of `row` with `update(session, staff, row.id, values)`; a domain error shows the
    form for `row` again (`render(values, errors, row, status)`)."""
    return save_form(
        lambda session, staff, data: update(session, staff, row.id, data),
        values,
        lambda data, errors, status: render(data, errors, row, status),
        "已保存修改。",
        endpoint,
        id_arg,
    )


def export(exporter: Callable[[Any, Any, int, str], bytes], row_id: int, name: str) -> Response:
    """The download of one record's people (`exporter(session, staff, row_id, fmt)`) as `<name>.<fmt>`."""
    fmt = export_format()
    return download(exporter(db.session, current_staff(), row_id, fmt), f"{name}.{fmt}", fmt)


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
