"""Activities and sign-ups: seats claimed by a conditional UPDATE, a waitlist promoted on cancellation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services import notices
from services.common import (
    Page,
    actor_of,
    ensure_open,
    first_wins,
    guarded,
    keyset_page,
    like_pattern,
    move,
    record_change,
    retry_locked,
)
from services.eligibility import aware, beijing_today, check, utcnow
from services.errors import Closed, Invalid, NotEligible, NotFound
from services.listing_data import validate_activity
from services.models import Activity, Signup, User
from services.users import age_of

LIVE = ("confirmed", "waitlisted")


def seats_left(activity: Activity) -> int:
    return max(activity.capacity - activity.confirmed, 0)


def list_activities(
    session: Session,
    *,
    category: str | None = None,
    district: str | None = None,
    keyword: str | None = None,
    limit: int = 10,
    cursor: str | None = None,
) -> Page[Activity]:
    """Published activities not yet started, soonest first; keyset cursor on (starts_at, id)."""
    query = select(Activity).where(Activity.status == "published", Activity.starts_at > utcnow())
    if category:
        query = query.where(Activity.category == category)
    if district:
        query = query.where(Activity.district == district)
    if keyword and keyword.strip():
        pattern = like_pattern(keyword.strip())
        query = query.where(
            or_(Activity.title.ilike(pattern, escape="\\"), Activity.description.ilike(pattern, escape="\\"))
        )
    return keyset_page(session, query, Activity.starts_at, Activity.id, limit=limit, cursor=cursor)


def get_activity(session: Session, activity_id: int, include_unpublished: bool = False) -> Activity:
    activity = session.get(Activity, activity_id)
    if activity is None or (not include_unpublished and activity.status == "draft"):
        raise NotFound("没有找到这个活动。")
    return activity


# -- staff -------------------------------------------------------------------------------------------------
@retry_locked
def create_activity(session: Session, data: dict[str, Any], actor: str) -> Activity:
    """A draft; `publish_activity` opens it for sign-ups."""
    values = validate_activity(data, partial=False)

    def work() -> Activity:
        activity = Activity(**values, confirmed=0, status="draft")
        session.add(activity)
        session.flush()
        record_change(session, "activity", activity.id, None, "draft", actor)
        return activity

    return guarded(session, work)


@retry_locked
def update_activity(session: Session, activity_id: int, data: dict[str, Any], actor: str) -> Activity:
    values = validate_activity(data, partial=True)

    def work() -> Activity:
        # Locked: sign-ups wait, so the seat count cannot move while capacity changes.
        activity = session.get(Activity, activity_id, with_for_update=True, populate_existing=True)
        if activity is None:
            raise NotFound("没有找到这个活动。")
        if "capacity" in values and values["capacity"] < activity.confirmed:
            raise Invalid(fields={"capacity": f"已有 {activity.confirmed} 人确认，名额不能更少。"})
        for key, value in values.items():
            setattr(activity, key, value)
        session.flush()
        # More seats: the waitlist moves up at once, longest-waiting first.
        while activity.confirmed < activity.capacity and _promote_next(session, activity) is not None:
            activity.confirmed += 1
        return activity

    return guarded(session, work)


def _move(
    session: Session, activity_id: int, allowed: tuple[str, ...], new: str, actor: str, reason: str | None
) -> Activity:
    activity = session.get(Activity, activity_id, with_for_update=True, populate_existing=True)
    return move(session, activity, "activity", ("活动", "没有找到这个活动。"), allowed, new, actor, reason)


@retry_locked
def publish_activity(session: Session, activity_id: int, actor: str) -> Activity:
    return guarded(
        session, lambda: _move(session, activity_id, ("draft", "closed"), "published", actor, None)
    )


@retry_locked
def close_activity(session: Session, activity_id: int, actor: str, reason: str | None = None) -> Activity:
    """Stop taking sign-ups; those already in keep their places (and the waitlist still moves up)."""
    return guarded(session, lambda: _move(session, activity_id, ("published",), "closed", actor, reason))


@retry_locked
def cancel_activity(session: Session, activity_id: int, actor: str, reason: str | None = None) -> Activity:
    """Call the activity off: every live sign-up is cancelled and its person told."""

    def work() -> Activity:
        activity = _move(session, activity_id, ("draft", "published", "closed"), "cancelled", actor, reason)
        for signup in session.scalars(
            select(Signup).where(Signup.activity_id == activity.id, Signup.status.in_(LIVE)).with_for_update()
        ):
            record_change(session, "signup", signup.id, signup.status, "cancelled", actor, reason)
            signup.status = "cancelled"
            user = session.get(User, signup.user_id)
            if user is not None:
                body = f"很抱歉，您报名的活动「{activity.title}」已取消。" + (
                    f"原因：{reason}" if reason else ""
                )
                notices.queue(
                    session, user, "activity_cancelled", "活动取消通知", body, f"signup:{signup.id}"
                )
        activity.confirmed = 0
        return activity

    return guarded(session, work)


# -- people ------------------------------------------------------------------------------------------------
def _check_open(activity: Activity, user: User, now: datetime) -> None:
    ensure_open(activity, "活动", now)
    reason = check(
        age=age_of(user, beijing_today()),
        education=user.education,
        district=user.district,
        age_min=activity.age_min,
        age_max=activity.age_max,
        min_education=None,
        residents_of=activity.residents_of,
    )
    if reason:
        raise NotEligible(reason)


def _existing(session: Session, user_id: int, activity_id: int) -> Signup | None:
    return session.scalars(
        select(Signup).where(Signup.activity_id == activity_id, Signup.user_id == user_id)
    ).first()


@retry_locked
def sign_up(session: Session, user: User, activity_id: int) -> Signup:
    """Confirmed while seats last, else waitlisted (`Closed` without a waitlist). Idempotent."""
    activity = get_activity(session, activity_id)
    existing = _existing(session, user.id, activity_id)
    if existing is not None and existing.status in LIVE:
        return existing  # a double tap or a WeChat retry
    now = utcnow()

    def work() -> Signup:
        _check_open(activity, user, now)
        # The seat is claimed in one statement: concurrent sign-ups serialise on the activity row and the
        # WHERE clause re-checks the count after the wait, so `confirmed` can never pass `capacity`.
        claimed = session.execute(
            update(Activity)
            .where(Activity.id == activity_id, Activity.confirmed < Activity.capacity)
            .values(confirmed=Activity.confirmed + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed and not activity.waitlist:
            raise Closed("名额已满。")
        status = "confirmed" if claimed else "waitlisted"
        if existing is not None:
            # Reuse the cancelled row; the status guard loses cleanly to a concurrent reuse.
            reused = session.execute(
                update(Signup)
                .where(Signup.id == existing.id, Signup.status == "cancelled")
                .values(status=status, queued_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not reused:
                raise IntegrityError("signup reused concurrently", None, Exception())
            signup = existing
            old = "cancelled"
        else:
            signup = Signup(activity_id=activity_id, user_id=user.id, status=status, queued_at=now)
            session.add(signup)
            session.flush()
            old = None
        record_change(session, "signup", signup.id, old, status, actor_of(user))
        return signup

    signup = first_wins(session, work, lambda: _existing(session, user.id, activity_id))
    session.refresh(signup)
    session.refresh(activity)
    return signup


def release_signup(session: Session, signup: Signup, actor: str, reason: str | None) -> Signup | None:
    """Cancel a live sign-up (locked by the caller) and hand a freed seat to the longest-waiting person.
    Runs inside the caller's transaction; returns the promoted sign-up, if any."""
    was = signup.status
    record_change(session, "signup", signup.id, was, "cancelled", actor, reason)
    signup.status = "cancelled"
    if was != "confirmed":
        return None
    activity = session.get(Activity, signup.activity_id)
    promoted = _promote_next(session, activity) if activity is not None else None
    if promoted is None:
        session.execute(
            update(Activity)
            .where(Activity.id == signup.activity_id, Activity.confirmed > 0)
            .values(confirmed=Activity.confirmed - 1)
            .execution_options(synchronize_session=False)
        )
    return promoted  # the seat passed straight on, so `confirmed` did not change


def _promote_next(session: Session, activity: Activity) -> Signup | None:
    """Confirm the longest-waiting person (the caller accounts for the seat) and tell them."""
    if activity.status not in ("published", "closed") or aware(activity.starts_at) <= utcnow():  # type: ignore[operator]
        return None
    # SKIP LOCKED: a waitlisted person who is cancelling right now is not promoted under their feet.
    promoted = session.scalars(
        select(Signup)
        .where(Signup.activity_id == activity.id, Signup.status == "waitlisted")
        .order_by(Signup.queued_at, Signup.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if promoted is None:
        return None
    record_change(session, "signup", promoted.id, "waitlisted", "confirmed", "system", "候补递补")
    promoted.status = "confirmed"
    session.flush()
    user = session.get(User, promoted.user_id)
    if user is not None:
        body = f"好消息！您候补的活动「{activity.title}」有名额了，您的报名已确认。"
        notices.queue(session, user, "waitlist_promoted", "候补成功通知", body, f"signup:{promoted.id}")
    return promoted


@retry_locked
def cancel_signup(session: Session, user: User, activity_id: int) -> Signup:
    """Free the seat and promote the longest-waiting person, in one transaction. Idempotent."""

    def work() -> Signup:
        signup = session.scalars(
            select(Signup)
            .where(Signup.activity_id == activity_id, Signup.user_id == user.id)
            .with_for_update()
        ).first()
        if signup is None:
            raise NotFound("您没有报名这个活动。")
        if signup.status in LIVE:
            release_signup(session, signup, actor_of(user), None)
        return signup

    signup = guarded(session, work)
    session.expire_all()  # the conditional UPDATEs bypassed the identity map
    return signup


def my_signups(session: Session, user: User) -> list[Signup]:
    """Newest first, cancelled ones included (the miniprogram shows them greyed out)."""
    return list(
        session.scalars(
            select(Signup)
            .where(Signup.user_id == user.id)
            .order_by(Signup.created_at.desc(), Signup.id.desc())
        )
    )


def export_signups(session: Session, activity_id: int, fmt: str) -> bytes:
    """Staff export of an activity's sign-ups (`xlsx` or `csv`). Phone numbers are FULL: staff call people."""
    from services.importing import export_signups as _export

    return _export(session, activity_id, fmt)
