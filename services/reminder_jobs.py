"""What the scheduler's activity jobs do: reminders before an activity starts, and the waitlist's end.

Each reminder is a delivery notice (`services.delivery.create_notice`, which picks the channel per person)
with a `dedup_key`, and a `ReminderSent` row written in the same transaction. The row's unique key makes
a reminder fire once per sign-up and lead time, whether the job runs twice, in two overlapping scheduler
instances or again after a restart; the notice's `dedup_key` is the second net.

Reminder rule: lead times (default 24 h and 2 h) are windows before the start. A confirmed sign-up gets the
reminder of the smallest lead whose window it is in, once; a later, larger lead is never sent after a
smaller one (a scheduler that was down for a day sends only the 2 h reminder). A lead whose window had
already opened when the person signed up is skipped: they have just seen the time and place.

Waitlist rule: the waitlist closes at the activity's signup deadline, or `close_before` ahead of the start
when it has none. Then everyone still waitlisted is moved to `cancelled` (reason 候补未递补) and told they
did not get a seat, in one transaction with the notice; after that a freed seat is not offered on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import content
from services import delivery, delivery_templates
from services.eligibility import BEIJING, aware
from services.models import Activity, Signup, StatusChange
from services.models_reminders import ReminderSent
from services.reminders import wanted_by

log = logging.getLogger(__name__)

ACTOR = "system:scheduler"
TOPIC = "activities"
STALE_AFTER = timedelta(days=1)


def slot_name(hours: float) -> str:
    """'24h', '2h', '90m': stable names, part of the dedup key."""
    minutes = round(hours * 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def wechat_time(moment: datetime) -> str:
    """WeChat's `time` field format, in Beijing time: 2026年12月1日 09:30."""
    local = moment.astimezone(BEIJING)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


@dataclass(frozen=True, slots=True)
class Due:
    signup_id: int
    user_id: int
    activity: Activity
    slot: str


def due_reminders(session: Session, now: datetime, leads_hours: Sequence[float]) -> list[Due]:
    """Confirmed sign-ups with a reminder due now that has not been sent (see the rule above)."""
    leads = sorted({float(h) for h in leads_hours if h > 0})
    if not leads:
        return []
    horizon = now + timedelta(hours=leads[-1])
    rows = session.execute(
        select(Signup.id, Signup.user_id, Signup.queued_at, Activity)
        .join(Activity, Activity.id == Signup.activity_id)
        .where(
            Signup.status == "confirmed",
            Activity.status.in_(("published", "closed")),
            Activity.starts_at > now,
            Activity.starts_at <= horizon,
            wanted_by(Signup.user_id, TOPIC),
        )
        .order_by(Activity.starts_at, Signup.id)
    ).all()
    if not rows:
        return []
    subjects = [f"signup:{row.id}" for row in rows]
    sent = {
        (subject, slot)
        for subject, slot in session.execute(
            select(ReminderSent.subject, ReminderSent.slot).where(ReminderSent.subject.in_(subjects))
        )
    }
    due: list[Due] = []
    for signup_id, user_id, queued_at, activity in rows:
        starts = aware(activity.starts_at)
        assert starts is not None
        lead = next(h for h in leads if starts - now <= timedelta(hours=h))
        window_opened = starts - timedelta(hours=lead)
        joined = aware(queued_at)
        if joined is not None and joined > window_opened:
            continue
        slot = slot_name(lead)
        if (f"signup:{signup_id}", slot) not in sent:
            due.append(Due(signup_id, user_id, activity, slot))
    return due


def _claim(session: Session, subject: str, slot: str) -> ReminderSent | None:
    """Write the record first: a concurrent run holding the same key makes this one step aside."""
    record = ReminderSent(subject=subject, slot=slot)
    session.add(record)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return None
    return record


def _template(key: str) -> str | None:
    # Without a configured template the notice still goes as a customer-service message when it can.
    return key if delivery_templates.get(key) is not None else None


def send_activity_reminders(session: Session, now: datetime, leads_hours: Sequence[float]) -> int:
    """Queue every due reminder as its own notice; returns how many were queued by this call."""
    queued = 0
    for item in due_reminders(session, now, leads_hours):
        activity = item.activity
        starts = aware(activity.starts_at)
        assert starts is not None
        record = _claim(session, f"signup:{item.signup_id}", item.slot)
        if record is None:
            continue
        try:
            notice = delivery.create_notice(
                session,
                kind="reminder",
                title=content.text("reminder_activity_title"),
                body=content.text(
                    "reminder_activity_body",
                    title=activity.title,
                    when=wechat_time(starts),
                    place=activity.location,
                ),
                audience=[item.user_id],
                template=_template("activity_reminder"),
                values={"activity": activity.title, "start": wechat_time(starts), "place": activity.location},
                page=f"pages/activities/detail?id={activity.id}",
                created_by=ACTOR,
                dedup_key=f"reminder:signup:{item.signup_id}:{item.slot}",
            )
            record.notice_id = notice.id
            session.commit()
        except Exception:
            session.rollback()
            raise
        queued += 1
    return queued


def close_waitlists(session: Session, now: datetime, close_before: timedelta) -> int:
    """Tell everyone still waitlisted at an activity whose waitlist has closed; returns people told."""
    # Interval arithmetic on columns is not portable (SQLite stores text): the two cases are filtered apart.
    activity_ids = list(
        session.scalars(
            select(Activity.id)
            .where(
                Activity.status.in_(("published", "closed")),
                # Long past activities keep their old waitlists as history: news that late helps no one.
                Activity.starts_at > now - STALE_AFTER,
                or_(
                    and_(Activity.signup_deadline.is_not(None), Activity.signup_deadline <= now),
                    and_(Activity.signup_deadline.is_(None), Activity.starts_at <= now + close_before),
                ),
                Activity.id.in_(select(Signup.activity_id).where(Signup.status == "waitlisted")),
            )
            .order_by(Activity.id)
        )
    )
    told = 0
    for activity_id in activity_ids:
        told += _close_one(session, activity_id)
    return told


def _close_one(session: Session, activity_id: int) -> int:
    activity = session.get(Activity, activity_id, with_for_update=True, populate_existing=True)
    if activity is None:
        session.rollback()
        return 0
    # Locked like `cancel_signup` locks them, so a person cancelling right now is not also told.
    waiting = list(
        session.scalars(
            select(Signup)
            .where(Signup.activity_id == activity_id, Signup.status == "waitlisted")
            .order_by(Signup.queued_at, Signup.id)
            .with_for_update(skip_locked=True)
        )
    )
    if not waiting:
        session.rollback()
        return 0
    for signup in waiting:
        session.add(
            StatusChange(
                subject="signup",
                subject_id=signup.id,
                from_status="waitlisted",
                to_status="cancelled",
                actor=ACTOR,
                reason="候补未递补",
            )
        )
        signup.status = "cancelled"
    ids = [signup.id for signup in waiting]
    audience = list(
        session.scalars(select(Signup.user_id).where(Signup.id.in_(ids), wanted_by(Signup.user_id, TOPIC)))
    )
    # A person told once may join the waitlist again (the row is reused, `queued_at` moves on), so the
    # key names this closing: the newest place in the queue and how many were waiting.
    newest = aware(max(signup.queued_at for signup in waiting))
    assert newest is not None
    key = f"waitlist:activity:{activity.id}:closed:{newest.timestamp():.0f}:{len(waiting)}"
    try:
        session.flush()
        if audience:
            # The notice's commit also commits the cancellations above: told if and only if cancelled.
            delivery.create_notice(
                session,
                kind="waitlist_closed",
                title=content.text("waitlist_closed_title"),
                body=content.text("waitlist_closed_body", title=activity.title),
                audience=audience,
                template=_template("signup_result"),
                values={"result": "未获名额"},
                page=f"pages/activities/detail?id={activity.id}",
                created_by=ACTOR,
                dedup_key=key,
            )
        session.commit()
    except Exception:
        session.rollback()
        raise
    log.info("activity %s: waitlist closed, %d person(s) told", activity_id, len(waiting))
    return len(waiting)
