"""Staff side of matchmaking: create, edit, publish, close and cancel events; review sign-ups; read the
sign-ups WITH profiles (staff only: the one place a profile is shown to anyone but its owner).

`actor` is `staff:<username>` (the console checks roles before calling; `event_signups` checks the prefix
too, because it is the door to sensitive data) or `system`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import notices
from services.common import guarded, move, record_change, retry_locked
from services.eligibility import aware
from services.errors import Forbidden, Invalid, InvalidTransition, NotFound
from services.listing_data import parse_datetime, parse_int
from services.matchmaking_profiles import ADULT_AGE
from services.matchmaking_seats import LIVE, SUBJECT, fill_free_seats, lock_event, release
from services.models import User
from services.models_matchmaking import MatchEvent, MatchProfile, MatchSignup

EVENT = "match_event"
_TEXT = {"title": 100, "partner": 100, "location": 200, "district": 32}
_REQUIRED = ("title", "location", "district", "starts_at")
_OPTIONAL = (
    "description",
    "partner",
    "ends_at",
    "signup_deadline",
    "cancel_deadline",
    "age_min",
    "age_max",
    "capacity",
    "seats_male",
    "seats_female",
    "requires_review",
    "checkin_code",
)
_NUMBERS = ("age_min", "age_max", "capacity", "seats_male", "seats_female")
_CODE = re.compile(r"^[A-Za-z0-9]{4,16}$")


class _Bad(ValueError):
    """A value we can read but do not accept; its message is shown to staff."""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _field(key: str, raw: Any) -> Any:
    """One value in its stored form; ValueError/TypeError when it cannot be read."""
    if key in _TEXT:
        text = str(raw).strip()
        if len(text) > _TEXT[key]:
            raise _Bad(f"不能超过 {_TEXT[key]} 个字。")
        return text
    if key == "description":
        return str(raw).strip()
    if key in _NUMBERS:
        number = parse_int(raw)
        if not 0 <= number <= 100_000:
            raise _Bad("数字不在合理范围内。")
        return number
    if key == "requires_review":
        return raw if isinstance(raw, bool) else str(raw).strip().lower() in ("1", "true", "是", "yes")
    if key == "checkin_code":
        if not _CODE.match(str(raw).strip()):
            raise _Bad("签到码为 4–16 位字母或数字。")
        return str(raw).strip().upper()
    return parse_datetime(raw, end_of_day=key.endswith("deadline"))


def validate_event(data: dict[str, Any], current: MatchEvent | None = None) -> dict[str, Any]:
    """What staff typed (friendly spellings accepted, as for activities) → column values; `Invalid` with
    per-field messages. With `current`, a partial update checked against the event's other values."""
    errors: dict[str, str] = {key: "不认识这一项。" for key in data if key not in (*_REQUIRED, *_OPTIONAL)}
    values: dict[str, Any] = {}
    for key in (*_REQUIRED, *_OPTIONAL):
        if key not in data:
            if key in _REQUIRED and current is None:
                errors[key] = "必填。"
            continue
        if _blank(data[key]):
            if key in _REQUIRED:
                errors[key] = "必填。"
            elif key != "checkin_code":
                values[key] = "" if key == "description" else None
            continue
        try:
            values[key] = _field(key, data[key])
        except _Bad as exc:
            errors[key] = str(exc)
        except (ValueError, TypeError, OverflowError):
            errors[key] = "请填写数字。" if key in _NUMBERS else "格式不正确（日期如 2026-12-31 19:00）。"
    merged = {c: getattr(current, c) for c in (*_REQUIRED, *_OPTIONAL)} if current is not None else {}
    merged = {k: aware(v) if isinstance(v, datetime) else v for k, v in merged.items()}
    merged.update(values)
    if merged.get("age_min") is None:
        values["age_min"] = merged["age_min"] = ADULT_AGE
    if merged["age_min"] < ADULT_AGE:
        errors["age_min"] = "交友活动仅限成年人，最低年龄不能小于 18 岁。"
    if merged.get("age_max") is not None and merged["age_max"] < merged["age_min"]:
        errors["age_max"] = "年龄上限不能小于下限。"
    male, female = merged.get("seats_male"), merged.get("seats_female")
    if (male is None) != (female is None):
        errors["seats_female" if female is None else "seats_male"] = (
            "男女名额需同时填写，或都不填（不限男女比例）。"
        )
    elif male is not None and female is not None:
        values["capacity"] = merged["capacity"] = male + female  # balanced: the seats are the capacity
    if not errors.keys() & {"seats_male", "seats_female"} and (merged.get("capacity") or 0) < 1:
        errors.setdefault("capacity", "请填写名额（至少 1 人）。")
    starts = merged.get("starts_at")
    for key in ("ends_at", "signup_deadline", "cancel_deadline"):
        moment = merged.get(key)
        if starts is not None and moment is not None and (moment <= starts) == (key == "ends_at"):
            errors.setdefault(
                key, "结束时间需晚于开始时间。" if key == "ends_at" else "截止时间需早于活动开始。"
            )
    if errors:
        raise Invalid(fields=errors)
    return values


def new_checkin_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


@retry_locked
def create_event(session: Session, data: dict[str, Any], actor: str) -> MatchEvent:
    """A draft; `publish_event` opens it. A check-in code is drawn when staff give none."""
    values = validate_event(data)
    values.setdefault("checkin_code", new_checkin_code())

    def work() -> MatchEvent:
        event = MatchEvent(**values, taken_male=0, taken_female=0, status="draft")
        session.add(event)
        session.flush()
        record_change(session, EVENT, event.id, None, "draft", actor)
        return event

    return guarded(session, work)


@retry_locked
def update_event(session: Session, event_id: int, data: dict[str, Any], actor: str) -> MatchEvent:
    """Edit an event; seats cannot drop below those already held, and added seats go to the waitlist."""

    def work() -> MatchEvent:
        event = lock_event(session, event_id)  # sign-ups wait: the counters cannot move meanwhile
        if event is None:
            raise NotFound("没有找到这个交友活动。")
        values = validate_event(data, current=event)
        errors: dict[str, str] = {}
        if values.get("capacity", event.capacity) < event.taken_male + event.taken_female:
            errors["capacity"] = f"已有 {event.taken_male + event.taken_female} 人占用名额，名额不能更少。"
        for gender, taken in (("male", event.taken_male), ("female", event.taken_female)):
            seats = values.get(f"seats_{gender}", getattr(event, f"seats_{gender}"))
            if seats is not None and seats < taken:
                errors[f"seats_{gender}"] = f"已有 {taken} 人占用名额，名额不能更少。"
        if errors:
            raise Invalid(fields=errors)
        for key, value in values.items():
            setattr(event, key, value)
        session.flush()
        fill_free_seats(session, event)
        return event

    event = guarded(session, work)
    session.refresh(event)
    return event


def _move(
    session: Session, event_id: int, allowed: tuple[str, ...], new: str, actor: str, reason: str | None
) -> MatchEvent:
    event = lock_event(session, event_id)
    return move(session, event, EVENT, ("活动", "没有找到这个交友活动。"), allowed, new, actor, reason)


@retry_locked
def publish_event(session: Session, event_id: int, actor: str) -> MatchEvent:
    return guarded(session, lambda: _move(session, event_id, ("draft", "closed"), "published", actor, None))


@retry_locked
def close_event(session: Session, event_id: int, actor: str, reason: str | None = None) -> MatchEvent:
    """Stop taking sign-ups; those already in keep their places (and the waitlist still moves up)."""
    return guarded(session, lambda: _move(session, event_id, ("published",), "closed", actor, reason))


@retry_locked
def cancel_event(session: Session, event_id: int, actor: str, reason: str | None = None) -> MatchEvent:
    """Call the event off: every live sign-up is cancelled and its person told."""

    def work() -> MatchEvent:
        event = _move(session, event_id, ("draft", "published", "closed"), "cancelled", actor, reason)
        for signup in session.scalars(
            select(MatchSignup)
            .where(MatchSignup.event_id == event.id, MatchSignup.status.in_(LIVE))
            .with_for_update()
        ):
            record_change(session, SUBJECT, signup.id, signup.status, "cancelled", actor, reason)
            signup.status = "cancelled"
            _tell(
                session,
                signup,
                "match_cancelled",
                "活动取消通知",
                f"很抱歉，您报名的交友活动「{event.title}」已取消。" + (f"原因：{reason}" if reason else ""),
            )
        event.taken_male = event.taken_female = 0
        return event

    return guarded(session, work)


def _tell(session: Session, signup: MatchSignup, kind: str, title: str, body: str) -> None:
    user = session.get(User, signup.user_id)
    if user is not None:
        notices.queue(session, user, kind, title, body, f"{SUBJECT}:{signup.id}")


@retry_locked
def review_signup(
    session: Session, signup_id: int, decision: str, actor: str, note: str | None = None
) -> MatchSignup:
    """`pending → approved | declined`. A decline frees the seat for the same gender's waitlist."""
    if decision not in ("approved", "declined"):
        raise Invalid(fields={"decision": "请选择通过或不通过。"})
    found = session.get(MatchSignup, signup_id)
    if found is None:
        raise NotFound("没有找到这条报名。")
    event_id = found.event_id

    def work() -> MatchSignup:
        event = lock_event(session, event_id)
        signup = session.get(MatchSignup, signup_id, with_for_update=True, populate_existing=True)
        if event is None or signup is None:
            raise NotFound("没有找到这条报名。")
        if signup.status != "pending":
            raise InvalidTransition("只有待审核的报名可以审核。")
        signup.note = note
        if decision == "approved":
            record_change(session, SUBJECT, signup.id, "pending", "approved", actor, note)
            signup.status = "approved"
            body = f"您报名的交友活动「{event.title}」已通过审核，期待与您见面！签到码将在活动现场公布。"
            _tell(session, signup, "match_approved", "报名审核通过", body)
        else:
            release(session, event, signup, actor, note, new_status="declined")
            body = f"很抱歉，您报名的交友活动「{event.title}」未通过审核。" + (
                f"说明：{note}" if note else ""
            )
            _tell(session, signup, "match_declined", "报名审核结果", body)
        return signup

    signup = guarded(session, work)
    session.expire_all()
    return signup


@dataclass(frozen=True, slots=True)
class StaffSignupView:
    """A sign-up with the profile behind it, for the staff reviewing this event. No contact details: the
    system never stores or shares them for matchmaking."""

    signup: MatchSignup
    profile: MatchProfile | None


def event_signups(
    session: Session, event_id: int, actor: str, status: str | None = None
) -> list[StaffSignupView]:
    """Sign-ups of one event in queue order, each with its profile (flagged intros: `intro_verdict`)."""
    if not actor.startswith("staff:"):
        raise Forbidden("只有审核活动的工作人员可以查看交友资料。")
    if session.get(MatchEvent, event_id) is None:
        raise NotFound("没有找到这个交友活动。")
    query = select(MatchSignup, MatchProfile).outerjoin(
        MatchProfile, MatchProfile.user_id == MatchSignup.user_id
    )
    query = query.where(MatchSignup.event_id == event_id)
    if status is not None:
        query = query.where(MatchSignup.status == status)
    rows = session.execute(query.order_by(MatchSignup.queued_at, MatchSignup.id)).all()
    return [StaffSignupView(signup, profile) for signup, profile in rows]
