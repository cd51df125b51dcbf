"""Matchmaking (婚恋交友) for young people: upcoming events with their eligibility, sign-up with per-gender
seats, staff review and a waitlist, cancellation before the deadline, check-in with the code read out on the
day. Profiles: `services.matchmaking_profiles`; staff: `services.matchmaking_staff`; seats:
`services.matchmaking_seats`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services import common
from services.common import Page, actor_of, first_wins, guarded, keyset_page, record_change, retry_locked
from services.eligibility import age_range, aware, beijing_today, check, utcnow
from services.errors import DeadlinePassed, Invalid, InvalidTransition, NotEligible, NotFound
from services.matchmaking_profiles import ADULT_AGE, ADULTS_ONLY, get_profile, is_minor
from services.matchmaking_seats import HOLDS_SEAT, LIVE, SUBJECT, claim_seat, lock_event, release, seats_left
from services.models import User
from services.models_matchmaking import MatchEvent, MatchProfile, MatchSignup

__all__ = [
    "Eligibility",
    "cancel_signup",
    "check_in",
    "eligibility",
    "ensure_open",
    "get_event",
    "list_events",
    "my_signups",
    "seats_left",
    "sign_up",
]

PROFILE_NEEDED = "请先填写交友资料（只有审核活动的工作人员能看到）。"
SINGLE_NEEDED = "报名前请确认您目前为单身。"
CHECKIN_OPENS = timedelta(hours=2)  # before the start: people arrive early
CHECKIN_WINDOW = timedelta(hours=6)  # after the start, when the event gave no end time


@dataclass(frozen=True, slots=True)
class Eligibility:
    """`eligible` None: not known yet (no profile); `reason` says why not, or what is missing."""

    eligible: bool | None
    reason: str | None


def list_events(session: Session, *, limit: int = 10, cursor: str | None = None) -> Page[MatchEvent]:
    """Published events not yet started, soonest first; keyset cursor on (starts_at, id)."""
    query = select(MatchEvent).where(MatchEvent.status == "published", MatchEvent.starts_at > utcnow())
    return keyset_page(session, query, MatchEvent.starts_at, MatchEvent.id, limit=limit, cursor=cursor)


def get_event(session: Session, event_id: int, include_unpublished: bool = False) -> MatchEvent:
    event = session.get(MatchEvent, event_id)
    if event is None or (not include_unpublished and event.status == "draft"):
        raise NotFound("没有找到这个交友活动。")
    return event


def eligibility(
    user: User, profile: MatchProfile | None, event: MatchEvent, today: date | None = None
) -> Eligibility:
    """Adults only; the event's age range against the profile's birth year; a profile is needed first."""
    if is_minor(user):
        return Eligibility(False, ADULTS_ONLY)
    if profile is None:
        return Eligibility(None, PROFILE_NEEDED)
    age = age_range(None, profile.birth_year, today or beijing_today())
    if age is not None and age[1] < ADULT_AGE:
        return Eligibility(False, ADULTS_ONLY)
    reason = check(
        age=age,
        education=None,
        district=None,
        age_min=max(event.age_min, ADULT_AGE),
        age_max=event.age_max,
        min_education=None,
        residents_of=None,
    )
    return Eligibility(reason is None, reason)


def ensure_open(event: MatchEvent, now: datetime | None = None) -> None:
    """`Closed` or `DeadlinePassed` (with the reason) unless the event takes sign-ups now."""
    common.ensure_open(event, "交友活动", now)


def _existing(session: Session, user_id: int, event_id: int) -> MatchSignup | None:
    return session.scalars(
        select(MatchSignup).where(MatchSignup.event_id == event_id, MatchSignup.user_id == user_id)
    ).first()


@retry_locked
def sign_up(session: Session, user: User, event_id: int, *, single_declared: bool) -> MatchSignup:
    """A seat for the person's gender while seats last (`pending` when the event is reviewed, else
    `approved`), else the waitlist. Idempotent; a declined person cannot sign up again for the same event.
    `single_declared`: the person's own declaration that they are single, required."""
    if single_declared is not True:
        raise Invalid(SINGLE_NEEDED, fields={"single": SINGLE_NEEDED})
    event = get_event(session, event_id)
    existing = _existing(session, user.id, event_id)
    if existing is not None and existing.status in LIVE:
        return existing  # a double tap or a WeChat retry
    if existing is not None and existing.status == "declined":
        raise InvalidTransition("很抱歉，您这次活动的报名未通过审核。欢迎关注其他交友活动。")
    now = utcnow()
    profile = get_profile(session, user)
    verdict = eligibility(user, profile, event)
    if not verdict.eligible or profile is None:
        raise NotEligible(verdict.reason)

    def work() -> MatchSignup:
        ensure_open(event, now)
        claimed = claim_seat(session, event_id, profile.gender)
        status = ("pending" if event.requires_review else "approved") if claimed else "waitlisted"
        values = {"status": status, "gender": profile.gender, "single_declared_at": now, "queued_at": now}
        if existing is not None:
            # Reuse the cancelled row; the status guard loses cleanly to a concurrent reuse.
            reused = session.execute(
                update(MatchSignup)
                .where(MatchSignup.id == existing.id, MatchSignup.status == "cancelled")
                .values(**values, checked_in_at=None, note=None)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not reused:
                raise IntegrityError("match sign-up reused concurrently", None, Exception())
            signup, old = existing, "cancelled"
        else:
            signup = MatchSignup(event_id=event_id, user_id=user.id, **values)
            session.add(signup)
            session.flush()
            old = None
        record_change(session, SUBJECT, signup.id, old, status, actor_of(user))
        return signup

    signup = first_wins(session, work, lambda: _existing(session, user.id, event_id))
    session.refresh(signup)
    session.refresh(event)
    return signup


def _lock_signup(session: Session, user: User, event_id: int) -> tuple[MatchEvent, MatchSignup]:
    event = lock_event(session, event_id)
    signup = session.scalars(
        select(MatchSignup)
        .where(MatchSignup.event_id == event_id, MatchSignup.user_id == user.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if event is None or signup is None:
        raise NotFound("您没有报名这个交友活动。")
    return event, signup


@retry_locked
def cancel_signup(session: Session, user: User, event_id: int) -> MatchSignup:
    """Give up a seat before the cancel deadline (leaving the waitlist is always possible); the freed seat
    goes to the longest-waiting person in the same transaction. Idempotent."""

    def work() -> MatchSignup:
        event, signup = _lock_signup(session, user, event_id)
        if signup.status not in LIVE:
            return signup
        now = utcnow()
        deadline = aware(event.cancel_deadline) or aware(event.starts_at)
        if signup.status in HOLDS_SEAT and deadline is not None and deadline <= now:
            raise DeadlinePassed("已过取消报名的截止时间。如有特殊情况，请回复“人工”联系工作人员。")
        release(session, event, signup, actor_of(user), None)
        return signup

    signup = guarded(session, work)
    session.expire_all()  # the conditional UPDATEs bypassed the identity map
    return signup


def _checkin_window(event: MatchEvent, now: datetime) -> str | None:
    starts = aware(event.starts_at)
    assert starts is not None
    ends = aware(event.ends_at) or starts + CHECKIN_WINDOW
    if now < starts - CHECKIN_OPENS:
        return "签到在活动开始前 2 小时开放，请到现场再签到。"
    if now > ends:
        return "活动已经结束，不能再签到了。"
    return None


@retry_locked
def check_in(session: Session, user: User, code: str, event_id: int | None = None) -> MatchSignup:
    """Check in with the code staff read out on the day. Without `event_id` (chat), the person's approved
    sign-up whose event has this code. Idempotent: checking in twice keeps the first time."""
    code = "".join(str(code).split()).upper()
    query = select(MatchSignup).where(MatchSignup.user_id == user.id)
    if event_id is not None:
        query = query.where(MatchSignup.event_id == event_id)
    candidates = list(session.scalars(query))
    if not candidates:
        raise NotFound("您没有报名这个交友活动。")
    events = {
        e.id: e
        for e in session.scalars(
            select(MatchEvent).where(MatchEvent.id.in_([s.event_id for s in candidates]))
        )
    }
    matching = [s for s in candidates if events[s.event_id].checkin_code.upper() == code]
    if not matching:
        raise Invalid("签到码不正确，请核对现场公布的签到码。", fields={"code": "签到码不正确。"})
    signup = next((s for s in matching if s.status == "approved"), matching[0])
    if signup.status == "pending":
        raise NotEligible("您的报名还在审核中，暂不能签到。")
    if signup.status != "approved":
        raise NotEligible("只有报名成功的参与者才能签到。")
    if signup.checked_in_at is not None:
        return signup
    event = events[signup.event_id]
    now = utcnow()
    closed = _checkin_window(event, now)
    if closed:
        raise DeadlinePassed(closed)

    def work() -> MatchSignup:
        done = session.execute(
            update(MatchSignup)
            .where(
                MatchSignup.id == signup.id,
                MatchSignup.status == "approved",
                MatchSignup.checked_in_at.is_(None),
            )
            .values(checked_in_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if done:
            record_change(session, SUBJECT, signup.id, "approved", "checked_in", actor_of(user))
        return signup

    guarded(session, work)
    session.refresh(signup)
    return signup


def my_signups(session: Session, user: User) -> list[MatchSignup]:
    """Newest first, ended ones included (the miniprogram shows them greyed out)."""
    return list(
        session.scalars(
            select(MatchSignup)
            .where(MatchSignup.user_id == user.id)
            .order_by(MatchSignup.created_at.desc(), MatchSignup.id.desc())
        )
    )
