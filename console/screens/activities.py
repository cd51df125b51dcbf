"""Activity screens: list, create, edit, publish, close, cancel; sign-ups with filters, removal, export."""

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
    page_arg,
    save_edit,
    save_form,
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
TIMES = ("starts_at", "ends_at", "signup_deadline")
DETAIL = "console.activity_detail"
nav_item("活动", "console.activities", "viewer", order=31)
CATEGORIES = ("社区青年汇", "志愿服务", "读书会", "文体活动", "职业发展", "心理健康")


def _values() -> dict[str, Any]:
    values = form_values(FIELDS)
    values["waitlist"] = checkbox("waitlist")
    return values


def _render_form(
    values: dict[str, Any], errors: dict[str, str], activity: Any = None, status: int = 200
) -> Any:
    page = render_template(
        "console/activities/form.html", values=values, errors=errors, activity=activity, categories=CATEGORIES
    )
    return page, status


def _activity_or_404(activity_id: int) -> Any:
    return found_or_404(get_activity, activity_id, include_unpublished=True)


@bp.get("/activities")
@require_role(*READ)
def activities() -> Any:
    return list_page(
        staff_activities, "console/activities/list.html", labels=ACTIVITY_STATUS, seats_left=seats_left
    )


@bp.route("/activities/new", methods=["GET", "POST"])
@require_role(*EDIT)
def activity_new() -> Any:
    if request.method == "GET":
        return _render_form({"waitlist": True, "category": CATEGORIES[0]}, {})
    done = "已保存草稿「{title}」。发布后才能报名。"
    return save_form(staff_ops.create_activity, _values(), _render_form, done, DETAIL, "activity_id")


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@require_role(*EDIT)
def activity_edit(activity_id: int) -> Any:
    activity = _activity_or_404(activity_id)
    if request.method == "GET":
        return _render_form(
            form_from(activity, FIELDS, TIMES) | {"waitlist": activity.waitlist}, {}, activity
        )
    return save_edit(staff_ops.update_activity, activity, _values(), _render_form, DETAIL, "activity_id")


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
    done = "「{title}」已发布，开始报名。"
    return move(no_reason(staff_ops.publish_activity), activity_id, done, DETAIL, "activity_id")


@bp.post("/activities/<int:activity_id>/close")
@require_role(*EDIT)
def activity_close(activity_id: int) -> BaseResponse:
    done = "「{title}」已截止报名，已报名的人保留名额。"
    return move(staff_ops.close_activity, activity_id, done, DETAIL, "activity_id")


@bp.post("/activities/<int:activity_id>/cancel")
@require_role(*EDIT)
def activity_cancel(activity_id: int) -> BaseResponse:
    done = "「{title}」已取消，并已通知所有报名者。"
    return move(staff_ops.cancel_activity, activity_id, done, DETAIL, "activity_id")


@bp.post("/signups/<int:signup_id>/cancel")
@require_role(*EDIT)
def signup_cancel(signup_id: int) -> BaseResponse:
    reason = form_text("reason", 200)
    try:
        signup = staff_ops.cancel_signup(db.session, current_staff(), signup_id, reason)
    except DomainError as exc:
        return fail_back(exc, "console.activities", DETAIL, "activity_id")
    flash("已取消这条报名并通知本人；如有候补，已按顺序递补。", "success")
    return back(DETAIL, activity_id=signup.activity_id)


@bp.get("/activities/<int:activity_id>/export")
@require_role(*EDIT)
def activity_export(activity_id: int) -> Any:
    activity = _activity_or_404(activity_id)
    return export(staff_ops.export_signups, activity_id, f"{activity.title}-报名名单")
