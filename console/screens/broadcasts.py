"""Broadcast screens: compose with a live WeChat preview, choose the audience, send now or later, watch the
delivery report fill in, cancel what has not gone out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from bot.extensions import db
from console.auth import current_staff, require_role
from console.blueprint import bp, nav_item
from console.domain_common import EDIT, READ, back, clean, fail, page_arg
from services import broadcast_audience, delivery, delivery_templates, staff_broadcasts
from services.broadcast_audience import AGE_BAND_LABELS, KINDS, Audience
from services.errors import DomainError, Invalid
from services.listing_data import parse_datetime
from services.staff_broadcasts import Draft

nav_item("群发通知", "console.broadcasts", "viewer", order=40)

TEMPLATE_LABELS = {
    "broadcast": "通用通知",
    "activity_reminder": "活动提醒",
    "signup_result": "报名结果",
    "status_update": "进度更新",
}
VALUE_LABELS = {
    "activity": ("活动名称", "不超过 20 个字"),
    "start": ("开始时间", "如 2026年12月1日 09:30"),
    "place": ("地点", "不超过 20 个字"),
    "result": ("结果", "不超过 5 个汉字，如：已确认"),
}
PER_PAGE = 20


def _draft(raw: Mapping[str, Any]) -> Draft:
    """A draft from the form or the preview's JSON (same field names), control characters removed."""
    raw = {k: clean(v) for k, v in raw.items()}
    mode = str(raw.get("mode") or "template")
    template = str(raw.get("template") or "") if mode == "template" else ""
    values = {
        name: str(raw.get(f"value_{name}") or "").strip()
        for name in staff_broadcasts.placeholders(template)
        if str(raw.get(f"value_{name}") or "").strip()
    }
    when = None
    if raw.get("when") == "later":
        try:
            when = parse_datetime(str(raw.get("scheduled_at") or ""), end_of_day=False)
        except ValueError:
            raise Invalid("请填写定时发送的时间。", fields={"scheduled_at": "请填写时间。"}) from None
    return Draft(
        title=str(raw.get("title") or ""),
        body=str(raw.get("body") or ""),
        template=template or None,
        values=values,
        scheduled_at=when,
    )


def _audience(raw: Mapping[str, Any]) -> Audience:
    return broadcast_audience.parse({k: clean(v) for k, v in raw.items() if v is not None})


def _compose(raw: Mapping[str, Any], errors: dict[str, str], status: int = 200) -> Any:
    templates = delivery_templates.templates()
    needs: dict[str, list[str]] = {}
    for key in templates:
        for name in staff_broadcasts.placeholders(key):
            needs.setdefault(name, []).append(key)
    defaults = {name: v for t in templates.values() for name, v in t.defaults.items()}
    page = render_template(
        "console/broadcasts/compose.html",
        raw=raw,
        errors=errors,
        templates={k: TEMPLATE_LABELS.get(k, k) for k in templates},
        needs=needs,
        defaults=defaults,
        value_labels=VALUE_LABELS,
        kinds=KINDS,
        topics=broadcast_audience.topics(),
        age_bands=AGE_BAND_LABELS,
        activities=broadcast_audience.activity_choices(db.session),
        events=broadcast_audience.event_choices(db.session),
    )
    return page, status


@bp.get("/broadcasts")
@require_role(*READ)
def broadcasts() -> Any:
    page = page_arg()
    notices = delivery.list_notices(
        db.session, kind=staff_broadcasts.KIND, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
    )
    reports = {n.id: staff_broadcasts.report(db.session, n.id) for n in notices}
    return render_template(
        "console/broadcasts/list.html",
        notices=notices,
        reports=reports,
        page=page,
        more=len(notices) == PER_PAGE,
    )


@bp.route("/broadcasts/new", methods=["GET", "POST"])
@require_role(*EDIT)
def broadcast_new() -> Any:
    if request.method == "GET":
        raw = {
            "mode": "template",
            "template": "broadcast",
            "audience": "all",
            "when": "now",
            **request.args.to_dict(),
        }
        return _compose(raw, {})
    raw = request.form.to_dict()
    try:
        notice = staff_broadcasts.send(db.session, current_staff(), _draft(raw), _audience(raw))  # type: ignore[arg-type]
    except DomainError as exc:
        flash(exc.message, "error")
        return _compose(raw, dict(exc.fields or {}) if isinstance(exc, Invalid) else {}, status=400)
    flash(f"已创建通知，共 {notice.total} 位接收者。", "success")
    return redirect(url_for("console.broadcast_detail", notice_id=notice.id))


@bp.post("/broadcasts/preview")
@require_role(*EDIT)
def broadcast_preview() -> Any:
    """The compose page's live check: WeChat's rules on every field, the preview, and the audience size."""
    raw = request.get_json(silent=True)
    if not isinstance(raw, dict):
        return jsonify(error={"code": "invalid", "message": "请求格式不正确。"}), 400
    try:
        result = staff_broadcasts.preview(_draft(raw))
    except Invalid as exc:
        result = {"ok": False, "problems": [exc.message], "text": "", "channels": {}}
    try:
        audience = _audience(raw)
        result["audience"] = {
            "count": broadcast_audience.count(db.session, audience),
            "label": audience.describe(db.session),
        }
    except DomainError as exc:
        result["ok"] = False
        result["audience"] = {"count": None, "label": exc.message}
    return jsonify(result)


@bp.get("/broadcasts/<int:notice_id>")
@require_role(*READ)
def broadcast_detail(notice_id: int) -> Any:
    notice = staff_broadcasts.get_broadcast(db.session, notice_id)
    report = staff_broadcasts.report(db.session, notice_id)
    return render_template("console/broadcasts/detail.html", notice=notice, report=report)


@bp.get("/broadcasts/<int:notice_id>/progress")
@require_role(*READ)
def broadcast_progress(notice_id: int) -> Any:
    return jsonify(staff_broadcasts.report(db.session, notice_id))


@bp.post("/broadcasts/<int:notice_id>/cancel")
@require_role(*EDIT)
def broadcast_cancel(notice_id: int) -> BaseResponse:
    try:
        staff_broadcasts.cancel(db.session, current_staff(), notice_id)  # type: ignore[arg-type]
    except DomainError as exc:
        return fail(exc, "console.broadcast_detail", notice_id=notice_id)
    flash("已取消：尚未发出的不会再发送。", "success")
    return back("console.broadcast_detail", notice_id=notice_id)
