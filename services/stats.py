"""Counts for the staff dashboard, per Beijing calendar day. Read-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.eligibility import BEIJING, beijing_today
from services.models import Application, HelpCase, MessageLog, Signup, User
from services.models_delivery import Notice, Outbox


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=BEIJING)
    return start, start + timedelta(days=1)


def last_days(days: int, today: date | None = None) -> list[date]:
    today = today or beijing_today()
    return [today - timedelta(days=n) for n in range(days - 1, -1, -1)]


def _count(session: Session, column: Any, day: date, *where: Any) -> int:
    start, end = day_bounds(day)
    query = select(func.count()).where(column >= start, column < end, *where)
    return int(session.scalar(query) or 0)


def per_day(session: Session, column: Any, days: list[date], *where: Any) -> list[int]:
    """One COUNT per day on an indexed timestamp: portable across SQLite and PostgreSQL time zones."""
    return [_count(session, column, day, *where) for day in days]


USER_MESSAGE = MessageLog.msg_type != "event"


def messages_per_day(session: Session, days: list[date]) -> list[int]:
    return per_day(session, MessageLog.created_at, days, USER_MESSAGE)


def signups_per_day(session: Session, days: list[date]) -> list[int]:
    return per_day(session, Signup.created_at, days)


def applications_per_day(session: Session, days: list[date]) -> list[int]:
    return per_day(session, Application.created_at, days)


def new_users_per_day(session: Session, days: list[date]) -> list[int]:
    return per_day(session, User.created_at, days)


def open_cases(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(HelpCase.kind, func.count()).where(HelpCase.status == "open").group_by(HelpCase.kind)
    )
    counts = {"crisis": 0, "callback": 0, "human": 0}
    counts.update({kind: int(n) for kind, n in rows})
    return counts


@dataclass(frozen=True, slots=True)
class Said:
    """What a person sent, enough to tell the intent: a text (or voice transcript) or a menu click."""

    text: str | None
    event_key: str | None


def said_on(session: Session, day: date, limit: int) -> tuple[list[Said], bool]:
    """Texts and menu clicks of a day, newest first, at most `limit` (the bool: more were left out)."""
    start, end = day_bounds(day)
    rows = session.execute(
        select(MessageLog.msg_type, MessageLog.event, MessageLog.event_key, MessageLog.content)
        .where(MessageLog.created_at >= start, MessageLog.created_at < end)
        .where(
            (MessageLog.msg_type.in_(("text", "voice")) & MessageLog.content.is_not(None))
            | ((MessageLog.msg_type == "event") & (MessageLog.event == "CLICK"))
        )
        .order_by(MessageLog.created_at.desc())
        .limit(limit + 1)
    ).all()
    said = [Said(None, key) if kind == "event" else Said(text, None) for kind, _ev, key, text in rows]
    return said[:limit], len(said) > limit


DELIVERY_OUTCOMES = ("sent", "skipped", "failed", "waiting")


def deliveries_per_day(session: Session, days: list[date]) -> dict[str, list[int]]:
    """Outbox rows of the notices due each day, by outcome (`waiting`: pending or being sent)."""
    out = {outcome: [0] * len(days) for outcome in DELIVERY_OUTCOMES}
    for i, day in enumerate(days):
        start, end = day_bounds(day)
        rows = session.execute(
            select(Outbox.status, func.count())
            .join(Notice, Notice.id == Outbox.notice_id)
            .where(Notice.scheduled_at >= start, Notice.scheduled_at < end)
            .group_by(Outbox.status)
        )
        for status, n in rows:
            key = status if status in out else "waiting"
            out[key][i] += int(n)
    return out


def success_rate(sent: int, failed: int) -> float | None:
    """Sent out of those that reached an outcome by trying; skips (no channel allowed) are not failures."""
    return 100.0 * sent / (sent + failed) if sent + failed else None
