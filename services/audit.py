"""The audit log: every staff action, who did it, when, to which record.

`record` commits on its own (for actions whose work is already committed, e.g. a send to WeChat);
`stage` adds the entry to the caller's transaction so that the action and its entry land together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.models_staff import AuditLog, StaffUser

DETAIL_LIMIT = 2000  # characters of JSON; a runaway detail must not bloat the log


def actor_of(staff: StaffUser) -> str:
    return f"staff:{staff.username}"


def _entry(actor: str, action: str, target: str, detail: dict[str, Any] | None) -> AuditLog:
    if detail is not None:
        detail = {k: (v if not isinstance(v, str) else v[:500]) for k, v in detail.items()}
    return AuditLog(actor=actor[:64], action=action[:64], target=target[:100], detail=detail)


def stage(
    session: Session, actor: str, action: str, target: str, detail: dict[str, Any] | None = None
) -> None:
    """Add an entry to the current transaction; the caller commits."""
    session.add(_entry(actor, action, target, detail))


def record(
    session: Session, actor: str, action: str, target: str, detail: dict[str, Any] | None = None
) -> AuditLog:
    entry = _entry(actor, action, target, detail)
    session.add(entry)
    session.commit()
    return entry


@dataclass(frozen=True, slots=True)
class AuditPage:
    items: list[AuditLog]
    total: int
    page: int
    pages: int


def list_entries(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> AuditPage:
    """Newest first, filtered by exact actor, action prefix and target prefix."""
    query = select(AuditLog)
    if actor:
        query = query.where(AuditLog.actor == actor)
    if action:
        query = query.where(AuditLog.action.startswith(action, autoescape=True))
    if target:
        query = query.where(AuditLog.target.startswith(target, autoescape=True))
    if since is not None:
        query = query.where(AuditLog.at >= since)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    per_page = max(1, min(per_page, 200))
    pages = max(1, -(-total // per_page))
    page = max(1, min(page, pages))
    items = list(
        session.scalars(query.order_by(AuditLog.id.desc()).limit(per_page).offset((page - 1) * per_page))
    )
    return AuditPage(items, total, page, pages)
