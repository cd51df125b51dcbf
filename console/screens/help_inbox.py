"""Help inbox (counselors; admins see it, not crisis transcripts): crisis first, then callbacks, hand-offs;
a case's transcript, replies through the customer-service window, assignment, notes and closing."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from redis.exceptions import RedisError
from werkzeug.wrappers import Response

from bot import content
from bot.extensions import db
from console.auth import current_staff, require_role
from console.blueprint import back_on_error, bp, nav_item
from services import audit
from services import help_inbox as inbox
from services.eligibility import aware, utcnow
from services.models_staff import StaffUser
from services.staff import list_staff

nav_item("求助收件箱", "console.help_inbox", "counselor", order=20)


def _staff() -> StaffUser:
    staff = current_staff()
    assert staff is not None  # require_role ran first
    return staff


def _case_json(case: Any) -> dict[str, Any]:
    created = aware(case.created_at)
    return {
        "id": case.id,
        "kind": case.kind,
        "kind_label": inbox.KIND_LABELS.get(case.kind, case.kind),
        "category": inbox.category_label(case),
        "created_at": created.isoformat() if created else None,
        "age_seconds": int((utcnow() - created).total_seconds()) if created else None,
        "assigned_to": case.assigned_to,
        "url": url_for("console.help_case", case_id=case.id),
    }


@bp.route("/help")
@require_role("counselor")
def help_inbox() -> str:
    staff = _staff()
    show_closed = request.args.get("status") == "closed"
    cases = inbox.closed_cases(db.session, staff) if show_closed else inbox.open_cases(db.session, staff)
    latest = max((c.id for c in cases if c.kind == "crisis"), default=0)
    return render_template(
        "console/help_inbox.html",
        groups=[
            (kind, label, [c for c in cases if c.kind == kind]) for kind, label in inbox.KIND_LABELS.items()
        ],
        show_closed=show_closed,
        latest_crisis=latest,
        outcomes=inbox.OUTCOMES,
        category_label=inbox.category_label,
    )


@bp.route("/help/feed.json")
@require_role("counselor")
def help_feed() -> Response:
    """New crisis cases since `after` (an id), polled by the inbox page so they appear without a reload."""
    try:
        after = max(int(request.args.get("after", "0")), 0)
    except ValueError:
        after = 0
    new = inbox.crisis_since(db.session, _staff(), after)
    counts = {kind: 0 for kind in inbox.KIND_LABELS}
    for case in inbox.open_cases(db.session, _staff()):
        counts[case.kind] = counts.get(case.kind, 0) + 1
    return jsonify(
        cases=[_case_json(c) for c in new], latest=max([after, *(c.id for c in new)]), open_counts=counts
    )


def _window(openid: str) -> tuple[int, float] | None:
    """(sends left, seconds left) in the person's customer-service window; None when Redis cannot tell."""
    try:
        return current_app.extensions["wechat_client"].window.remaining(openid)  # type: ignore[no-any-return]
    except RedisError:
        return None


@bp.route("/help/<int:case_id>")
@require_role("counselor")
def help_case(case_id: int) -> str:
    staff = _staff()
    case = inbox.get_case(db.session, staff, case_id)
    readable = inbox.may_read_transcript(staff, case)
    if readable and case.kind == "crisis":
        # Who read a crisis conversation, and when, is part of the record.
        audit.record(db.session, audit.actor_of(staff), "help_case.read_transcript", f"help_case:{case.id}")
    counselors = [s for s in list_staff(db.session) if s.active and "counselor" in s.role_set]
    return render_template(
        "console/help_case.html",
        case=case,
        kind_label=inbox.KIND_LABELS.get(case.kind, case.kind),
        lines=inbox.transcript(db.session, staff, case) if readable else None,
        notes=inbox.notes(db.session, staff, case.id),
        window=_window(case.openid),
        counselors=counselors,
        outcomes=inbox.OUTCOMES,
        reply_max=inbox.REPLY_MAX_CHARS,
        category_label=inbox.category_label,
        help_lines=content.help_directory().get("lines", {}).values(),
    )


def _back(case_id: int) -> Response:
    return redirect(url_for("console.help_case", case_id=case_id))


@bp.route("/help/<int:case_id>/reply", methods=["POST"])
@require_role("counselor")
def help_reply(case_id: int) -> Response:
    back_on_error(url_for("console.help_case", case_id=case_id))
    client = current_app.extensions["wechat_client"]
    inbox.reply(db.session, _staff(), case_id, request.form.get("text", ""), client)
    flash("回复已发送。", "success")
    return _back(case_id)


@bp.route("/help/<int:case_id>/assign", methods=["POST"])
@require_role("counselor")
def help_assign(case_id: int) -> Response:
    back_on_error(url_for("console.help_case", case_id=case_id))
    username = request.form.get("assigned_to", "").strip() or None
    case = inbox.assign(db.session, _staff(), case_id, username)
    flash(f"已指派给 {case.assigned_to}。" if case.assigned_to else "已放回待领取。", "success")
    return _back(case_id)


@bp.route("/help/<int:case_id>/note", methods=["POST"])
@require_role("counselor")
def help_note(case_id: int) -> Response:
    back_on_error(url_for("console.help_case", case_id=case_id))
    inbox.add_note(db.session, _staff(), case_id, request.form.get("note", ""))
    flash("备注已保存。", "success")
    return _back(case_id)


@bp.route("/help/<int:case_id>/close", methods=["POST"])
@require_role("counselor")
def help_close(case_id: int) -> Response:
    back_on_error(url_for("console.help_case", case_id=case_id))
    inbox.close(db.session, _staff(), case_id, request.form.get("outcome", ""), request.form.get("note"))
    flash("已结案。", "success")
    return redirect(url_for("console.help_inbox"))
