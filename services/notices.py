"""Notices to a person about a change they care about (an application's status, a waitlist promotion).

Each notice is stored as a `UserNotice` (the miniprogram's inbox, shown next time they open it) and, after
the transaction that made the change has committed, becomes a delivery notice in the outbox
(`services/delivery.py`), which the delivery worker sends through whichever channel reaches the person. A
person is never told about something that was rolled back, and a failure to queue cannot undo the change.
A sender registered with `set_sender` (tests, tools) replaces the outbox and is called directly instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.models import User, UserNotice

log = logging.getLogger(__name__)

Sender = Callable[[User, str, str], bool]
_sender: Sender | None = None
_PENDING = "pending_notices"


def set_sender(fn: Sender | None) -> None:
    """`fn(user, title, body) -> bool`: True when delivered as a customer-service message."""
    global _sender
    _sender = fn


def queue(session: Session, user: User, kind: str, title: str, body: str, subject: str | None) -> UserNotice:
    """Record a notice in the current transaction; `commit` hands it to the sender afterwards."""
    notice = UserNotice(
        user_id=user.id, kind=kind, title=title[:100], body=body, subject=subject, delivered_via="inbox"
    )
    session.add(notice)
    session.info.setdefault(_PENDING, []).append(notice)
    return notice


def commit(session: Session) -> None:
    """Commit, then deliver the notices queued in this transaction (a rollback discards them)."""
    try:
        session.commit()
    except BaseException:
        session.info.pop(_PENDING, None)
        raise
    pending: list[UserNotice] = session.info.pop(_PENDING, [])
    if not pending:
        return
    if _sender is None:
        _to_outbox(session, pending)
        return
    delivered: list[int] = []
    for notice in pending:
        user = session.get(User, notice.user_id)
        if user is None:
            continue
        try:
            if _sender(user, notice.title, notice.body):
                delivered.append(notice.id)
        except Exception:  # the inbox still has it; the change itself stands
            log.exception("notice %s: sender failed, left in the inbox", notice.id)
    if delivered:
        session.execute(update(UserNotice).where(UserNotice.id.in_(delivered)).values(delivered_via="custom"))
        session.commit()


def _to_outbox(session: Session, pending: list[UserNotice]) -> None:
    """One delivery notice per distinct text (an activity's cancellation tells everyone the same thing)."""
    # late: delivery and reminders import the models this module's callers are still loading
    from services import delivery, delivery_templates, reminders

    groups: dict[tuple[str, str, str], list[int]] = {}
    for notice in pending:
        groups.setdefault((notice.kind, notice.title, notice.body), []).append(notice.user_id)
    for (kind, title, body), user_ids in groups.items():
        try:
            # People who turned the topic off (退订) keep the inbox copy only.
            user_ids = reminders.filter_wanted(session, user_ids, kind)
            if not user_ids:
                continue
            delivery.create_notice(
                session,
                kind=kind,
                title=title,
                body=body,
                audience=user_ids,
                template=delivery_templates.for_kind(kind),
                created_by="system",
            )
        except Exception:  # the inbox still has it; the change itself stands
            session.rollback()
            log.exception(
                "notice %r for %d people: not queued for delivery, left in the inbox", kind, len(user_ids)
            )


def rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.rollback()


def notify(session: Session, user: User, kind: str, title: str, body: str, subject: str | None) -> UserNotice:
    """Store a notice for the inbox and hand it to the registered sender (commits)."""
    notice = queue(session, user, kind, title, body, subject)
    commit(session)
    return notice
