"""Activity screens: list, create, edit, publish, close, cancel; sign-ups with filters, removal, export."""

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
from services import staff_ops
from services.activities import get_activity, seats_left
from services.eligibility import EDUCATION_LABELS
from services.errors import DomainError
from services.staff_listings import ACTIVITY_STATUS, SIGNUP_STATUS, history, staff_activities, staff_signups

FIELDS = (
    "title",
    "category",
    "location",
    "district",
    "starts_at",
    "ends_at",
    "capacity",
    "age_min",
    "age_max",
    "residents_of",
    "signup_deadline",
    "description",
)
nav_item("活动", "console.activities", "viewer", order=31)
CATEGORIES = ("社区青年汇", "志愿服务", "读书会", "文体活动", "职业发展", "心理健康")


def _values() -> dict[str, Any]:
    values = form_values(FIELDS)
    values["waitlist"] = checkbox("waitlist")
    return values


def _form_from(activity: Any) -> dict[str, Any]:
    values = {name: getattr(activity, name) for name in FIELDS}
    for key in ("starts_at", "ends_at", "signup_deadline"):
        values[key] = input_value(getattr(activity, key))
    values["waitlist"] = activity.waitlist
    return {k: "" if v is None else v for k, v in values.items()}


def _render_form(
    values: dict[str, Any], errors: dict[str, str], activity: Any = None, status: int = 200
) -> Any:
    page = render_template(
        "console/activities/form.html", values=values, errors=errors, activity=activity, categories=CATEGORIES
    )
    return page, status


def _activity_or_404(activity_id: int) -> Any:
    try:
        return get_activity(db.session, activity_id, include_unpublished=True)
    except DomainError:
        abort(404)


@bp.get("/activities")
@require_role(*READ)
def activities() -> Any:
    status = arg_text("status")
    keyword = arg_text("q")
    result = staff_activities(db.session, status=status, keyword=keyword, page=page_arg())
    return render_template(
        "console/activities/list.html",
        result=result,
        status=status,
        q=keyword or "",
        labels=ACTIVITY_STATUS,
        seats_left=seats_left,
    )


@bp.route("/activities/new", methods=["GET", "POST"])
@require_role(*EDIT)
def activity_new() -> Any:
    if request.method == "GET":
        return _render_form({"waitlist": True, "category": CATEGORIES[0]}, {})
    values = _values()
    try:
        activity = staff_ops.create_activity(db.session, current_staff(), values)
    except DomainError as exc:
        flash(exc.message, "error")
        return _render_form(values, field_errors(exc), status=400)
    flash(f"已保存草稿「{activity.title}」。发布后才能报名。", "success")
    return redirect(url_for("console.activity_detail", activity_id=activity.id))


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@require_role(*EDIT)
def activity_edit(activity_id: int) -> Any:
    activity = _activity_or_404(activity_id)
    if request.method == "GET":
        return _render_form(_form_from(activity), {}, activity)
    values = _values()
    try:
        staff_ops.update_activity(db.session, current_staff(), activity_id, values)
    except DomainError as exc:
        flash(exc.message, "error")
        return _render_form(values, field_errors(exc), activity, status=400)
    flash("已保存修改。", "success")
    return redirect(url_for("console.activity_detail", activity_id=activity_id))


@bp.get("/activities/<int:activity_id>")
@require_role(*READ)
def activity_detail(activity_id: int) -> Any:
    activity = _activity_or_404(activity_id)
    status = arg_text("status")
    district = arg_text("district")
    result = staff_signups(db.session, activity_id, status=status, district=district, page=page_arg())
    return render_template(
        "console/activities/detail.html",
        activity=activity,
        result=result,
        status=status,
        district=district or "",
        labels=SIGNUP_STATUS,
        activity_labels=ACTIVITY_STATUS,
        seats=seats_left(activity),
        education=EDUCATION_LABELS,
        changes=history(db.session, "activity", activity_id),
    )


@bp.post("/activities/<int:activity_id>/publish")
@require_role(*EDIT)
def activity_publish(activity_id: int) -> BaseResponse:
    return move(
        lambda session, staff, i, _reason: staff_ops.publish_activity(session, staff, i),
        activity_id,
        "「{title}」已发布，开始报名。",
        "console.activity_detail",
        activity_id=activity_id,
    )


@bp.post("/activities/<int:activity_id>/close")
@require_role(*EDIT)
def activity_close(activity_id: int) -> BaseResponse:
    done = "「{title}」已截止报名，已报名的人保留名额。"
    return move(
        staff_ops.close_activity, activity_id, done, "console.activity_detail", activity_id=activity_id
    )


@bp.post("/activities/<int:activity_id>/cancel")
@require_role(*EDIT)
def activity_cancel(activity_id: int) -> BaseResponse:
    done = "「{title}」已取消，并已通知所有报名者。"
    return move(
        staff_ops.cancel_activity, activity_id, done, "console.activity_detail", activity_id=activity_id
    )


@bp.post("/signups/<int:signup_id>/cancel")
@require_role(*EDIT)
def signup_cancel(signup_id: int) -> BaseResponse:
    reason = form_text("reason", 200)
    activity_id = request.form.get("activity_id", type=int)
    try:
        signup = staff_ops.cancel_signup(db.session, current_staff(), signup_id, reason)
    except DomainError as exc:
        if activity_id is None:
            return fail(exc, "console.activities")
        return fail(exc, "console.activity_detail", activity_id=activity_id)
    flash("已取消这条报名并通知本人；如有候补，已按顺序递补。", "success")
    return back("console.activity_detail", activity_id=signup.activity_id)


@bp.get("/activities/<int:activity_id>/export")
@require_role(*EDIT)
def activity_export(activity_id: int) -> Any:
    activity = _activity_or_404(activity_id)
    fmt = export_format()
    data = staff_ops.export_signups(db.session, current_staff(), activity_id, fmt)
    return download(data, f"{activity.title}-报名名单.{fmt}", fmt)
