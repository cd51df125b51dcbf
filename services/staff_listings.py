"""What the staff console lists: every traineeship and activity in any status, and the people behind them.

The public lists (`list_traineeships`, `list_activities`) show only what is open to young people; staff need
drafts, closed and cancelled rows too, with counts, filters and plain page numbers. Read-only: the changes go
through `services/staff_ops.py`, which checks the role and writes the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from services.common import like_pattern
from services.models import Activity, Application, Signup, StatusChange, Traineeship, User

T = TypeVar("T")
PAGE_SIZE = 30

TRAINEESHIP_STATUS = {"draft": "草稿", "open": "招募中", "closed": "已关闭"}
ACTIVITY_STATUS = {"draft": "草稿", "published": "报名中", "closed": "已截止", "cancelled": "已取消"}


@dataclass(frozen=True, slots=True)
class Numbered(Generic[T]):
    """One page of a staff list: `page` counts from 1; `pages` is at least 1."""

    items: list[T]
    page: int
    pages: int
    total: int


def paged(session: Session, query: Select, page: int, size: int = PAGE_SIZE) -> Numbered:  # type: ignore[type-arg]
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    rows = list(session.execute(query.limit(size).offset((page - 1) * size)).all())
    items = [r[0] if len(r) == 1 else tuple(r) for r in rows]
    return Numbered(items, page, pages, total)


def keyword_filter(query: Select, keyword: str | None, *columns: object) -> Select:  # type: ignore[type-arg]
    if keyword and keyword.strip():
        pattern = like_pattern(keyword.strip())
        query = query.where(or_(*(c.ilike(pattern, escape="\\") for c in columns)))  # type: ignore[attr-defined]
    return query


# -- traineeships ------------------------------------------------------------------------------------------
def staff_traineeships(
    session: Session, *, status: str | None = None, keyword: str | None = None, page: int = 1
) -> Numbered[tuple[Traineeship, int]]:
    """Posts in any status with their live application counts, newest first."""
    live = (
        select(func.count(Application.id))
        .where(Application.traineeship_id == Traineeship.id, Application.status != "withdrawn")
        .scalar_subquery()
    )
    query = select(Traineeship, live)
    if status in TRAINEESHIP_STATUS:
        query = query.where(Traineeship.status == status)
    query = keyword_filter(query, keyword, Traineeship.title, Traineeship.employer)
    return paged(session, query.order_by(Traineeship.id.desc()), page)


APPLICATION_STATUS = {
    "submitted": "已提交",
    "reviewing": "审核中",
    "accepted": "已录用",
    "declined": "未通过",
    "withdrawn": "已撤回",
}


def staff_applications(
    session: Session,
    traineeship_id: int,
    *,
    status: str | None = None,
    keyword: str | None = None,
    page: int = 1,
) -> Numbered[Application]:
    query = select(Application).where(Application.traineeship_id == traineeship_id)
    if status in APPLICATION_STATUS:
        query = query.where(Application.status == status)
    query = keyword_filter(query, keyword, Application.name, Application.school, Application.major)
    return paged(session, query.order_by(Application.created_at, Application.id), page)


def history(session: Session, subject: str, subject_id: int) -> list[StatusChange]:
    """Every status change of one row, oldest first (who, when, why)."""
    query = select(StatusChange).where(StatusChange.subject == subject, StatusChange.subject_id == subject_id)
    return list(session.scalars(query.order_by(StatusChange.at, StatusChange.id)))


# -- activities --------------------------------------------------------------------------------------------
def staff_activities(
    session: Session, *, status: str | None = None, keyword: str | None = None, page: int = 1
) -> Numbered[Activity]:
    """Activities in any status, latest start first (upcoming ones are what staff work on)."""
    query = select(Activity)
    if status in ACTIVITY_STATUS:
        query = query.where(Activity.status == status)
    query = keyword_filter(query, keyword, Activity.title, Activity.location)
    return paged(session, query.order_by(Activity.starts_at.desc(), Activity.id.desc()), page)


SIGNUP_STATUS = {"confirmed": "已确认", "waitlisted": "候补", "cancelled": "已取消"}


def staff_signups(
    session: Session,
    activity_id: int,
    *,
    status: str | None = None,
    district: str | None = None,
    page: int = 1,
) -> Numbered[tuple[Signup, User]]:
    """Sign-ups with their people: confirmed first, then the waitlist in promotion order."""
    rank = case({"confirmed": 0, "waitlisted": 1}, value=Signup.status, else_=2)
    query = (
        select(Signup, User).join(User, User.id == Signup.user_id).where(Signup.activity_id == activity_id)
    )
    if status in SIGNUP_STATUS:
        query = query.where(Signup.status == status)
    if district and district.strip():
        query = query.where(User.district == district.strip())
    return paged(session, query.order_by(rank, Signup.queued_at, Signup.id), page)


def signup_user_ids(session: Session, activity_id: int) -> list[int]:
    """The people with a live sign-up (confirmed or waitlisted): a broadcast audience."""
    query = select(Signup.user_id).where(
        Signup.activity_id == activity_id, Signup.status.in_(("confirmed", "waitlisted"))
    )
    return list(session.scalars(query.order_by(Signup.user_id)))
