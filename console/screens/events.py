"""Matchmaking event screens: list, create, edit, publish, close, cancel; sign-ups with profiles (editors
only) reviewed with a note that is sent to the person."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from bot.extensions import db
from console.auth import current_staff, require_role
from console.blueprint import bp, nav_item
from console.domain_common import (
    EDIT,
    READ,
    arg_text,
    back,
    checkbox,
    download,
    export_format,
    fail,
    field_errors,
    form_text,
    form_values,
    input_value,
    move,
    page_arg,
)
from services import staff_events
from services.errors import DomainError
from services.staff import has_role
from services.staff_listings import history

nav_item("交友活动", "console.events", "viewer", order=32)

FIELDS = (
    "title",
    "partner",
    "location",
    "district",
    "starts_at",
    "ends_at",
    "signup_deadline",
    "cancel_deadline",
    "age_min",
    "age_max",
    "capacity",
    "seats_male",
    "seats_female",
    "checkin_code",
    "description",
)
TIMES = ("starts_at", "ends_at", "signup_deadline", "cancel_deadline")


def _values() -> dict[str, Any]:
    values = form_values(FIELDS)
    values["requires_review"] = checkbox("requires_review")
    return values


def _form_from(event: Any) -> dict[str, Any]:
    values = {name: getattr(event, name) for name in FIELDS}
    for key in TIMES:
        values[key] = input_value(getattr(event, key))
    values["requires_review"] = event.requires_review
    return {k: "" if v is None else v for k, v in values.items()}


def _render_form(values: dict[str, Any], errors: dict[str, str], event: Any = None, status: int = 200) -> Any:
    return render_template("console/events/form.html", values=values, errors=errors, event=event), status


def _event_or_404(event_id: int) -> Any:
    try:
        return staff_events.get_event(db.session, event_id)
    except DomainError:
        abort(404)


@bp.get("/events")
@require_role(*READ)
def events() -> Any:
    status = arg_text("status")
    keyword = arg_text("q")
    result = staff_events.staff_events(db.session, status=status, keyword=keyword, page=page_arg())
    return render_template(
        "console/events/list.html",
        result=result,
        status=status,
        q=keyword or "",
        labels=staff_events.EVENT_STATUS,
    )


@bp.route("/events/new", methods=["GET", "POST"])
@require_role(*EDIT)
def event_new() -> Any:
    if request.method == "GET":
        return _render_form({"requires_review": True, "age_min": "18"}, {})
    values = _values()
    try:
        event = staff_events.create_event(db.session, current_staff(), values)  # type: ignore[arg-type]
    except DomainError as exc:
        flash(exc.message, "error")
        return _render_form(values, field_errors(exc), status=400)
    flash(f"已保存草稿「{event.title}」。发布后才能报名。", "success")
    return redirect(url_for("console.event_detail", event_id=event.id))


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@require_role(*EDIT)
def event_edit(event_id: int) -> Any:
    event = _event_or_404(event_id)
    if request.method == "GET":
        return _render_form(_form_from(event), {}, event)
    values = _values()
    try:
        staff_events.update_event(db.session, current_staff(), event_id, values)  # type: ignore[arg-type]
    except DomainError as exc:
        flash(exc.message, "error")
        return _render_form(values, field_errors(exc), event, status=400)
    flash("已保存修改。", "success")
    return redirect(url_for("console.event_detail", event_id=event_id))


@bp.get("/events/<int:event_id>")
@require_role(*READ)
def event_detail(event_id: int) -> Any:
    event = _event_or_404(event_id)
    staff = current_staff()
    status = arg_text("status")
    # Profiles are for the editors who review; viewers see the event and its counts only.
    rows = (
        staff_events.signups_with_profiles(db.session, staff, event_id, status)  # type: ignore[arg-type]
        if has_role(staff, "editor")
        else None
    )
    return render_template(
        "console/events/detail.html",
        event=event,
        rows=rows,
        status=status,
        labels=staff_events.SIGNUP_STATUS,
        event_labels=staff_events.EVENT_STATUS,
        genders=staff_events.GENDER_LABELS,
        changes=history(db.session, "match_event", event_id),
    )


@bp.post("/events/<int:event_id>/publish")
@require_role(*EDIT)
def event_publish(event_id: int) -> BaseResponse:
    return move(
        lambda session, staff, i, _reason: staff_events.publish_event(session, staff, i),
        event_id,
        "「{title}」已发布，开始报名。",
        "console.event_detail",
        event_id=event_id,
    )


@bp.post("/events/<int:event_id>/close")
@require_role(*EDIT)
def event_close(event_id: int) -> BaseResponse:
    done = "「{title}」已截止报名。"
    return move(staff_events.close_event, event_id, done, "console.event_detail", event_id=event_id)


@bp.post("/events/<int:event_id>/cancel")
@require_role(*EDIT)
def event_cancel(event_id: int) -> BaseResponse:
    done = "「{title}」已取消，并已通知所有报名者。"
    return move(staff_events.cancel_event, event_id, done, "console.event_detail", event_id=event_id)


@bp.get("/events/<int:event_id>/export")
@require_role(*EDIT)
def event_export(event_id: int) -> Any:
    event = _event_or_404(event_id)
    fmt = export_format()
    data = staff_events.export_signups(db.session, current_staff(), event_id, fmt)  # type: ignore[arg-type]
    return download(data, f"{event.title}-报名名单.{fmt}", fmt)


@bp.post("/match-signups/<int:match_signup_id>/review")
@require_role(*EDIT)
def match_signup_review(match_signup_id: int) -> BaseResponse:
    decision = request.form.get("decision", "")
    note = form_text("note", 500)
    event_id = request.form.get("event_id", type=int)
    try:
        signup = staff_events.review_signup(db.session, current_staff(), match_signup_id, decision, note)  # type: ignore[arg-type]
    except DomainError as exc:
        if event_id is None:
            return fail(exc, "console.events")
        return fail(exc, "console.event_detail", event_id=event_id)
    flash(f"已{'通过' if signup.status == 'approved' else '拒绝'}这条报名，并通知了本人。", "success")
    return back("console.event_detail", event_id=signup.event_id)
