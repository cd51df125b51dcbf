"""Staff actions on matchmaking events, role-checked and audited like `services/staff_ops.py`, plus the staff
list of events in any status. Sign-ups with profiles are sensitive: only editors read them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import matchmaking_staff as mm
from services.audit import actor_of
from services.models_matchmaking import MatchEvent, MatchSignup
from services.models_staff import StaffUser
from services.staff import ensure_role
from services.staff_listings import Numbered, keyword_filter, paged
from services.staff_ops import perform, reason_detail

EVENT_STATUS = {"draft": "草稿", "published": "报名中", "closed": "已截止", "cancelled": "已取消"}
SIGNUP_STATUS = {
    "pending": "待审核",
    "approved": "已通过",
    "declined": "未通过",
    "waitlisted": "候补",
    "cancelled": "已取消",
}
GENDER_LABELS = {"male": "男", "female": "女"}


def staff_events(
    session: Session, *, status: str | None = None, keyword: str | None = None, page: int = 1
) -> Numbered[MatchEvent]:
    query = select(MatchEvent)
    if status in EVENT_STATUS:
        query = query.where(MatchEvent.status == status)
    query = keyword_filter(query, keyword, MatchEvent.title, MatchEvent.location, MatchEvent.partner)
    return paged(session, query.order_by(MatchEvent.starts_at.desc(), MatchEvent.id.desc()), page)


def get_event(session: Session, event_id: int) -> MatchEvent:
    from services.matchmaking import get_event as _get

    return _get(session, event_id, include_unpublished=True)


def _target(event: MatchEvent) -> str:
    return f"match_event:{event.id}"


def create_event(session: Session, staff: StaffUser, data: dict[str, Any]) -> MatchEvent:
    return perform(session, staff, "match_event.create", _target, lambda a: mm.create_event(session, data, a))


def update_event(session: Session, staff: StaffUser, event_id: int, data: dict[str, Any]) -> MatchEvent:
    return perform(
        session,
        staff,
        "match_event.update",
        _target,
        lambda a: mm.update_event(session, event_id, data, a),
        detail={"fields": sorted(data)},
    )


def publish_event(session: Session, staff: StaffUser, event_id: int) -> MatchEvent:
    return perform(
        session, staff, "match_event.publish", _target, lambda a: mm.publish_event(session, event_id, a)
    )


def close_event(session: Session, staff: StaffUser, event_id: int, reason: str | None = None) -> MatchEvent:
    return perform(
        session,
        staff,
        "match_event.close",
        _target,
        lambda a: mm.close_event(session, event_id, a, reason),
        detail=reason_detail(reason),
    )


def cancel_event(session: Session, staff: StaffUser, event_id: int, reason: str | None = None) -> MatchEvent:
    return perform(
        session,
        staff,
        "match_event.cancel",
        _target,
        lambda a: mm.cancel_event(session, event_id, a, reason),
        detail=reason_detail(reason),
    )


def review_signup(
    session: Session, staff: StaffUser, signup_id: int, decision: str, note: str | None = None
) -> MatchSignup:
    return perform(
        session,
        staff,
        "match_signup.review",
        lambda s: f"match_signup:{s.id}",
        lambda a: mm.review_signup(session, signup_id, decision, a, note),
        detail={"decision": decision, "note": note} if note else {"decision": decision},
    )


def export_signups(session: Session, staff: StaffUser, event_id: int, fmt: str) -> bytes:
    """The sign-up list for the day (check-in sheet): nickname, gender, birth year, field, status. No contact
    details exist for matchmaking, so none leave."""
    from services.importing import local_time, write_table

    def work(_actor: str) -> bytes:
        event = get_event(session, event_id)
        views = mm.event_signups(session, event_id, actor_of(staff))
        order = {"approved": 0, "pending": 1, "waitlisted": 2}
        rows = [
            [
                v.signup.id,
                v.profile.nickname if v.profile else "",
                GENDER_LABELS.get(v.signup.gender, v.signup.gender),
                v.profile.birth_year if v.profile else "",
                v.profile.occupation if v.profile else "",
                SIGNUP_STATUS.get(v.signup.status, v.signup.status),
                local_time(v.signup.queued_at),
                local_time(v.signup.checked_in_at),
            ]
            for v in sorted(views, key=lambda v: order.get(v.signup.status, 3))
        ]
        headers = ["报名编号", "昵称", "性别", "出生年", "职业领域", "状态", "报名时间", "签到时间"]
        return write_table(headers, rows, fmt, sheet=event.title)

    return perform(
        session,
        staff,
        "match_signup.export",
        lambda _: f"match_event:{event_id}",
        work,
        detail={"format": fmt},
    )


def signups_with_profiles(
    session: Session, staff: StaffUser, event_id: int, status: str | None = None
) -> list[mm.StaffSignupView]:
    """Profiles are shown only to the editors who review the event."""
    ensure_role(staff, "editor")
    return mm.event_signups(session, event_id, actor_of(staff), status if status in SIGNUP_STATUS else None)
