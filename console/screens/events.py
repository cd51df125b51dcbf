"""Matchmaking event screens: list, create, edit, publish, close, cancel; sign-ups with profiles (editors
only) reviewed with a note that is sent to the person."""

from __future__ import annotations

from typing import Any

from flask import flash, render_template, request
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
    export,
    fail_back,
    form_from,
    form_text,
    form_values,
    found_or_404,
    list_page,
    move,
    no_reason,
    save_edit,
    save_form,
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
DETAIL = "console.event_detail"


def _values() -> dict[str, Any]:
    values = form_values(FIELDS)
    values["requires_review"] = checkbox("requires_review")
    return values


def _render_form(values: dict[str, Any], errors: dict[str, str], event: Any = None, status: int = 200) -> Any:
    return render_template("console/events/form.html", values=values, errors=errors, event=event), status


def _event_or_404(event_id: int) -> Any:
    return found_or_404(staff_events.get_event, event_id)


@bp.get("/events")
@require_role(*READ)
def events() -> Any:
    return list_page(staff_events.staff_events, "console/events/list.html", labels=staff_events.EVENT_STATUS)


@bp.route("/events/new", methods=["GET", "POST"])
@require_role(*EDIT)
def event_new() -> Any:
    if request.method == "GET":
        return _render_form({"requires_review": True, "age_min": "18"}, {})
    done = "已保存草稿「{title}」。发布后才能报名。"
    return save_form(staff_events.create_event, _values(), _render_form, done, DETAIL, "event_id")


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@require_role(*EDIT)
def event_edit(event_id: int) -> Any:
    event = _event_or_404(event_id)
    if request.method == "GET":
        return _render_form(
            form_from(event, FIELDS, TIMES) | {"requires_review": event.requires_review}, {}, event
        )
    return save_edit(staff_events.update_event, event, _values(), _render_form, DETAIL, "event_id")


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
    done = "「{title}」已发布，开始报名。"
    return move(no_reason(staff_events.publish_event), event_id, done, DETAIL, "event_id")


@bp.post("/events/<int:event_id>/close")
@require_role(*EDIT)
def event_close(event_id: int) -> BaseResponse:
    return move(staff_events.close_event, event_id, "「{title}」已截止报名。", DETAIL, "event_id")


@bp.post("/events/<int:event_id>/cancel")
@require_role(*EDIT)
def event_cancel(event_id: int) -> BaseResponse:
    done = "「{title}」已取消，并已通知所有报名者。"
    return move(staff_events.cancel_event, event_id, done, DETAIL, "event_id")


@bp.get("/events/<int:event_id>/export")
@require_role(*EDIT)
def event_export(event_id: int) -> Any:
    event = _event_or_404(event_id)
    return export(staff_events.export_signups, event_id, f"{event.title}-报名名单")


@bp.post("/match-signups/<int:match_signup_id>/review")
@require_role(*EDIT)
def match_signup_review(match_signup_id: int) -> BaseResponse:
    decision = request.form.get("decision", "")
    note = form_text("note", 500)
    try:
        signup = staff_events.review_signup(db.session, current_staff(), match_signup_id, decision, note)  # type: ignore[arg-type]
    except DomainError as exc:
        return fail_back(exc, "console.events", DETAIL, "event_id")
    flash(f"已{'通过' if signup.status == 'approved' else '拒绝'}这条报名，并通知了本人。", "success")
    return back(DETAIL, event_id=signup.event_id)
