"""Reminder preferences per person and topic, and what unfollowing the Official Account does.

Topics: `activities` (reminders before activities you signed up for, the waitlist outcome), `traineeships`
(status changes of your applications), `matchmaking` (the events you signed up for), `wishes` (your
micro-wishes and claims). A person without a row for a topic gets it (the default is on); `退订` turns
topics off, `订阅…提醒` on. The scheduler asks `wanted_by` before it queues a reminder.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, delete, exists, not_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import retry_locked
from services.errors import Invalid
from services.models import MessageLog, User
from services.models_reminders import ReminderPreference

TOPICS: tuple[str, ...] = ("activities", "traineeships", "matchmaking", "wishes")


def preferences(session: Session, user: User) -> dict[str, bool]:
    """Every topic with whether this person gets it (the default is on)."""
    rows = session.scalars(select(ReminderPreference).where(ReminderPreference.user_id == user.id))
    stored = {row.topic: row.enabled for row in rows}
    return {topic: stored.get(topic, True) for topic in TOPICS}


@retry_locked
def set_preferences(
    session: Session, user: User, topics: Iterable[str] | None, enabled: bool
) -> dict[str, bool]:
    """Turn `topics` (None: all of them) on or off; returns the preferences afterwards. Idempotent."""
    chosen = list(TOPICS if topics is None else topics)
    unknown = [t for t in chosen if t not in TOPICS]
    if unknown:
        raise Invalid("没有这种提醒。", fields={"topic": "、".join(unknown)})
    for _ in range(3):
        try:
            existing = {
                row.topic: row
                for row in session.scalars(
                    select(ReminderPreference).where(ReminderPreference.user_id == user.id).with_for_update()
                )
            }
            for topic in chosen:
                row = existing.get(topic)
                if row is None:
                    session.add(ReminderPreference(user_id=user.id, topic=topic, enabled=enabled))
                else:
                    row.enabled = enabled
            session.commit()
            break
        except IntegrityError:  # a concurrent first change for the same topic: apply ours on top of it
            session.rollback()
    else:
        raise RuntimeError("could not store reminder preferences")
    return preferences(session, user)


def topic_of(kind: str) -> str:
    """The topic a notice kind belongs to (the kinds the notifying services write)."""
    if kind.startswith("wish_"):
        return "wishes"
    if kind.startswith("match"):
        return "matchmaking"
    if kind.startswith("application"):
        return "traineeships"
    return "activities"  # reminder, waitlist_promoted, waitlist_closed, activity_cancelled, signup_cancelled


def filter_wanted(session: Session, user_ids: Iterable[int], kind: str) -> list[int]:
    """The people among `user_ids` who have not turned off the topic of a notice of `kind`: for whoever
    turns a change into a push (the scheduler's jobs; `notices` before it queues a status notice)."""
    ids = sorted(set(user_ids))
    if not ids:
        return []
    muted = set(
        session.scalars(
            select(ReminderPreference.user_id).where(
                ReminderPreference.user_id.in_(ids),
                ReminderPreference.topic == topic_of(kind),
                ReminderPreference.enabled.is_(False),
            )
        )
    )
    return [uid for uid in ids if uid not in muted]


def wanted_by(user_id: ColumnElement[int], topic: str) -> ColumnElement[bool]:
    """A SQL condition: the user (a column, e.g. `Signup.user_id`) has not turned `topic` off."""
    return not_(
        exists().where(
            and_(
                ReminderPreference.user_id == user_id,
                ReminderPreference.topic == topic,
                ReminderPreference.enabled.is_(False),
            )
        )
    )


@retry_locked
def forget_follower(session: Session, oa_openid: str) -> bool:
    """The person unfollowed the Official Account: WeChat's rules ask us to delete what we hold about them.

    Erases the user (sign-ups released to the waitlist, applications withdrawn, notices, sessions and
    reminder preferences deleted: see `users.erase_user`) and the texts they sent (`message_log`). The
    status history keeps only anonymous counts. Help cases are kept: they are the safeguarding record
    of a young person who asked for help, read only by counsellors. Returns whether a user was found.
    """
    from services.users import erase_user  # users imports activities, which imports notices: import late

    session.execute(delete(MessageLog).where(MessageLog.openid == oa_openid))
    user = session.scalars(select(User).where(User.oa_openid == oa_openid)).first()
    if user is None:
        session.commit()
        return False
    erase_user(session, user)  # commits, together with the message log deletion above
    return True
