"""The scheduler's other jobs: status notices the immediate path left undelivered, retention purges and
the staff digest of open help cases.

Status notices: a change a person cares about (an application's status, a waitlist promotion) is stored as
a `UserNotice` and, right after the change commits, queued with the delivery engine (`services.notices`).
When that queueing failed (the database hiccuped after the change committed) or a registered sender could
not deliver, the row stays `inbox` with no matching outbox row; `forward_undelivered` hands each such
notice, once, to the delivery engine. Notices older than `max_age` stay in the inbox only: news that late
is no longer a push.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Exists, Integer, String, case, cast, delete, func, literal, null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services import delivery, delivery_templates, reminders
from services.eligibility import aware
from services.models import HelpCase, MessageLog, UserNotice
from services.models_delivery import Notice, Outbox
from services.models_reminders import ReminderSent

ACTOR = "system:scheduler"
FINISHED = ("sent", "failed", "skipped")


def forward_undelivered(session: Session, now: datetime, max_age: timedelta, limit: int = 500) -> int:
    """Queue undelivered status notices (written before `now`, within `max_age`) with the delivery engine;
    returns how many this call queued."""
    rows = session.scalars(
        select(UserNotice)
        .where(
            UserNotice.delivered_via == "inbox",
            UserNotice.created_at <= now,
            UserNotice.created_at >= now - max_age,
            ~select(ReminderSent.id)
            .where(
                ReminderSent.subject == literal("user_notice:") + cast(UserNotice.id, String),
                ReminderSent.slot == "status",
            )
            .exists(),
            ~_queued_for(UserNotice),
        )
        .order_by(UserNotice.id)
        .limit(limit)
    ).all()
    forwarded = 0
    for notice in rows:
        if reminders.filter_wanted(session, [notice.user_id], notice.kind):
            forwarded += _forward(session, notice)
    return forwarded


def _queued_for(notice: type[UserNotice]) -> Exists:
    """The immediate path queued this text for this person in the outbox (`notices.commit` does so right
    after the change commits, without marking the inbox row)."""
    return (
        select(Outbox.id)
        .join(Notice, Notice.id == Outbox.notice_id)
        .where(
            Outbox.user_id == notice.user_id,
            Notice.kind == notice.kind,
            Notice.body == notice.body,
            Notice.created_at >= notice.created_at - timedelta(minutes=10),
        )
        .exists()
    )


def _forward(session: Session, notice: UserNotice) -> int:
    notice_id, user_id = notice.id, notice.user_id
    kind, title, body = notice.kind, notice.title, notice.body
    record = ReminderSent(subject=f"user_notice:{notice_id}", slot="status")
    session.add(record)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()  # an overlapping run forwarded it
        return 0
    try:
        created = delivery.create_notice(
            session,
            kind=kind,
            title=title,
            body=body,
            audience=[user_id],
            template=delivery_templates.for_kind(kind),
            created_by=ACTOR,
            dedup_key=f"status:user_notice:{notice_id}",
        )
        record.notice_id = created.id
        session.execute(update(UserNotice).where(UserNotice.id == notice_id).values(delivered_via="outbox"))
        session.commit()
    except Exception:
        session.rollback()
        raise
    return 1


def purge_message_log(session: Session, before: datetime, batch: int = 5000) -> int:
    """Delete inbound messages received before `before`, in batches (short locks); returns rows deleted."""
    total = 0
    while True:
        ids = list(session.scalars(select(MessageLog.id).where(MessageLog.created_at < before).limit(batch)))
        if not ids:
            return total
        session.execute(delete(MessageLog).where(MessageLog.id.in_(ids)))
        session.commit()
        total += len(ids)


def purge_outbox_payloads(session: Session, before: datetime, batch: int = 5000) -> int:
    """Drop the rendered payload (names, places, texts) of outbox rows finished before `before`; the row
    itself stays as the record of who was sent what, when, through which channel."""
    total = 0
    finished_at = func.coalesce(Outbox.sent_at, Outbox.next_attempt_at)
    while True:
        ids = list(
            session.scalars(
                select(Outbox.id)
                .where(Outbox.status.in_(FINISHED), Outbox.payload.is_not(None), finished_at < before)
                .limit(batch)
            )
        )
        if not ids:
            return total
        # SQL NULL, not JSON null: the column's None would store 'null', which IS NOT NULL.
        session.execute(
            update(Outbox)
            .where(Outbox.id.in_(ids))
            .values(payload=null())
            .execution_options(synchronize_session=False)
        )
        session.commit()
        total += len(ids)


@dataclass(frozen=True, slots=True)
class CaseDigest:
    total: int
    by_kind: dict[str, int]
    urgent: int
    oldest_hours: int


def open_case_digest(session: Session, now: datetime) -> CaseDigest | None:
    """Counts of open help cases for the staff digest; None when there is none."""
    rows = session.execute(
        select(
            HelpCase.kind,
            func.count(),
            func.min(HelpCase.created_at),
            func.sum(cast(case((HelpCase.urgent.is_(True), 1), else_=0), Integer)),
        )
        .where(HelpCase.status == "open")
        .group_by(HelpCase.kind)
    ).all()
    if not rows:
        return None
    by_kind = {kind: int(n) for kind, n, _, _ in rows}
    oldest = min(aware(first) for _, _, first, _ in rows if first is not None)  # type: ignore[type-var]
    return CaseDigest(
        total=sum(by_kind.values()),
        by_kind=by_kind,
        urgent=sum(int(u or 0) for *_, u in rows),
        oldest_hours=max(0, int((now - oldest).total_seconds() // 3600)) if oldest else 0,
    )
