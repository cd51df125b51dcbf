"""Seats at matchmaking events: claimed by a conditional UPDATE, released to the waitlist in one transaction.

Lock order everywhere is event row first, then sign-up rows, so that sign-ups, cancellations, reviews and
withdrawals on one event serialise without deadlocks and a freed seat never misses a waiting person.
"""

from __future__ import annotations

from sqlalchemy import Column, or_, select, update
from sqlalchemy.orm import Session

from services import notices
from services.common import record_change
from services.eligibility import aware, utcnow
from services.models import User
from services.models_matchmaking import MatchEvent, MatchSignup

SUBJECT = "match_signup"
HOLDS_SEAT = ("pending", "approved")
LIVE = ("pending", "approved", "waitlisted")


def _taken(gender: str) -> Column[int]:
    return MatchEvent.taken_male if gender == "male" else MatchEvent.taken_female  # type: ignore[return-value]


def _seats(gender: str) -> Column[int | None]:
    return MatchEvent.seats_male if gender == "male" else MatchEvent.seats_female  # type: ignore[return-value]


def seats_left(event: MatchEvent, gender: str | None = None) -> int:
    """Free seats in all, or for one gender when the event is gender-balanced."""
    total = max(event.capacity - event.taken_male - event.taken_female, 0)
    if gender is None or not event.balanced:
        return total
    seats = event.seats_male if gender == "male" else event.seats_female
    taken = event.taken_male if gender == "male" else event.taken_female
    return min(max((seats or 0) - taken, 0), total)


def lock_event(session: Session, event_id: int) -> MatchEvent | None:
    return session.get(MatchEvent, event_id, with_for_update=True, populate_existing=True)


def claim_seat(session: Session, event_id: int, gender: str) -> bool:
    """Take one seat for `gender` if there is one. One statement: concurrent claims wait on the row and the
    WHERE clause re-checks after the wait, so the counters never pass the seats (the CHECKs back this up)."""
    taken, seats = _taken(gender), _seats(gender)
    claimed = session.execute(
        update(MatchEvent)
        .where(
            MatchEvent.id == event_id,
            MatchEvent.taken_male + MatchEvent.taken_female < MatchEvent.capacity,
            or_(seats.is_(None), taken < seats),
        )
        .values({taken.key: taken + 1})
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(claimed)


def _give_back(session: Session, event_id: int, gender: str) -> None:
    taken = _taken(gender)
    session.execute(
        update(MatchEvent)
        .where(MatchEvent.id == event_id, taken > 0)
        .values({taken.key: taken - 1})
        .execution_options(synchronize_session=False)
    )


def promote(session: Session, event: MatchEvent, signup: MatchSignup) -> None:
    """Move a waitlisted person onto a seat the caller has accounted for, and tell them."""
    new = "pending" if event.requires_review else "approved"
    record_change(session, SUBJECT, signup.id, "waitlisted", new, "system", "候补递补")
    signup.status = new
    session.flush()
    user = session.get(User, signup.user_id)
    if user is not None:
        body = f"好消息！您候补的交友活动「{event.title}」有名额了，" + (
            "报名已转入审核，结果会再通知您。" if new == "pending" else "您的报名已确认。"
        )
        notices.queue(session, user, "match_promoted", "候补递补通知", body, f"{SUBJECT}:{signup.id}")


def _still_running(event: MatchEvent) -> bool:
    return event.status in ("published", "closed") and aware(event.starts_at) > utcnow()  # type: ignore[operator]


def next_waiting(session: Session, event: MatchEvent, gender: str | None) -> MatchSignup | None:
    """The longest-waiting person (of `gender`, when given), locked; SKIP LOCKED so that a waitlisted person
    who is cancelling right now is not promoted under their feet."""
    query = select(MatchSignup).where(MatchSignup.event_id == event.id, MatchSignup.status == "waitlisted")
    if gender is not None:
        query = query.where(MatchSignup.gender == gender)
    return session.scalars(
        query.order_by(MatchSignup.queued_at, MatchSignup.id).limit(1).with_for_update(skip_locked=True)
    ).first()


def release(
    session: Session,
    event: MatchEvent,
    signup: MatchSignup,
    actor: str,
    reason: str | None,
    new_status: str = "cancelled",
) -> MatchSignup | None:
    """End a live sign-up (event and sign-up locked by the caller) and pass a freed seat to the waitlist:
    the same gender's queue when the event is balanced, else the whole queue. Returns the promoted one."""
    was = signup.status
    record_change(session, SUBJECT, signup.id, was, new_status, actor, reason)
    signup.status = new_status
    session.flush()
    if was not in HOLDS_SEAT:
        return None
    promoted = next_waiting(session, event, signup.gender if event.balanced else None)
    if promoted is None or not _still_running(event):
        _give_back(session, event.id, signup.gender)
        return None
    if promoted.gender != signup.gender:  # unbalanced event: the seat changes hands across the counters
        _give_back(session, event.id, signup.gender)
        claim_seat(session, event.id, promoted.gender)
    promote(session, event, promoted)
    return promoted


def fill_free_seats(session: Session, event: MatchEvent) -> int:
    """After seats were added: move waiting people up, longest-waiting first, while their gender has room."""
    if not _still_running(event):
        return 0
    moved = 0
    waiting = session.scalars(
        select(MatchSignup)
        .where(MatchSignup.event_id == event.id, MatchSignup.status == "waitlisted")
        .order_by(MatchSignup.queued_at, MatchSignup.id)
        .with_for_update(skip_locked=True)
    ).all()
    for signup in waiting:
        if claim_seat(session, event.id, signup.gender):
            promote(session, event, signup)
            moved += 1
    return moved
