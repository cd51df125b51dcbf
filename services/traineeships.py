"""Traineeship posts (就业见习) and applications to them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services import notices
from services.common import (
    Page,
    actor_of,
    guarded,
    keyset_page,
    like_pattern,
    move,
    record_change,
    retry_locked,
)
from services.eligibility import EDUCATION, aware, beijing_today, check, utcnow
from services.errors import Closed, DeadlinePassed, Invalid, InvalidTransition, NotEligible, NotFound
from services.importing import ImportReport, import_traineeships, read_rows
from services.listing_data import validate_traineeship
from services.models import Application, Traineeship, User
from services.users import PHONE, age_of

__all__ = ["ImportReport", "TraineeshipFilter", "import_traineeships", "read_rows"]

LIVE = ("submitted", "reviewing", "accepted")
STAFF_MOVES = {"submitted": ("reviewing",), "reviewing": ("accepted", "declined")}
STATUS_LABELS = {
    "submitted": "已提交",
    "reviewing": "审核中",
    "accepted": "已录用",
    "declined": "未通过",
    "withdrawn": "已撤回",
}


@dataclass(frozen=True, slots=True)
class TraineeshipFilter:
    """`education`: the applicant's level; posts it qualifies for (minimum at or below it) match."""

    keyword: str | None = None
    district: str | None = None
    field: str | None = None
    education: str | None = None
    min_stipend: int | None = None


def list_traineeships(
    session: Session, filters: TraineeshipFilter | None = None, limit: int = 10, cursor: str | None = None
) -> Page[Traineeship]:
    """Open posts (deadline not passed), newest published first; keyset cursor on (published_at, id)."""
    f = filters or TraineeshipFilter()
    query = select(Traineeship).where(
        Traineeship.status == "open",
        Traineeship.published_at.is_not(None),
        or_(Traineeship.deadline.is_(None), Traineeship.deadline > utcnow()),
    )
    if f.keyword and f.keyword.strip():
        pattern = like_pattern(f.keyword.strip())
        query = query.where(
            or_(
                *(
                    c.ilike(pattern, escape="\\")
                    for c in (Traineeship.title, Traineeship.employer, Traineeship.description)
                )
            )
        )
    if f.district:
        query = query.where(Traineeship.district == f.district)
    if f.field:
        query = query.where(Traineeship.field == f.field)
    if f.education in EDUCATION:
        reachable = EDUCATION[: EDUCATION.index(f.education) + 1]
        query = query.where(or_(Traineeship.education.is_(None), Traineeship.education.in_(reachable)))
    if f.min_stipend is not None:
        query = query.where(Traineeship.stipend >= f.min_stipend)
    return keyset_page(
        session,
        query,
        Traineeship.published_at,
        Traineeship.id,
        limit=limit,
        cursor=cursor,
        newest_first=True,
    )


def get_traineeship(session: Session, traineeship_id: int, include_unpublished: bool = False) -> Traineeship:
    post = session.get(Traineeship, traineeship_id)
    if post is None or (not include_unpublished and post.status == "draft"):
        raise NotFound("没有找到这个见习岗位。")
    return post


# -- staff -------------------------------------------------------------------------------------------------
@retry_locked
def create_traineeship(session: Session, data: dict[str, Any], actor: str) -> Traineeship:
    values = validate_traineeship(data)

    def work() -> Traineeship:
        post = Traineeship(**values, status="draft")
        post.positions = values.get("positions") or 1
        session.add(post)
        session.flush()
        record_change(session, "traineeship", post.id, None, "draft", actor)
        return post

    return guarded(session, work)


@retry_locked
def update_traineeship(
    session: Session, traineeship_id: int, data: dict[str, Any], actor: str
) -> Traineeship:
    values = validate_traineeship(data, partial=True)

    def work() -> Traineeship:
        post = get_traineeship(session, traineeship_id, include_unpublished=True)
        for key, value in values.items():
            setattr(post, key, value)
        return post

    return guarded(session, work)


def _move(
    session: Session, traineeship_id: int, allowed: tuple[str, ...], new: str, actor: str, reason: str | None
) -> Traineeship:
    locked = session.get(Traineeship, traineeship_id, with_for_update=True, populate_existing=True)
    post = move(
        session, locked, "traineeship", ("岗位", "没有找到这个见习岗位。"), allowed, new, actor, reason
    )
    if new == "open":
        post.published_at = utcnow()
    return post


@retry_locked
def publish_traineeship(session: Session, traineeship_id: int, actor: str) -> Traineeship:
    return guarded(session, lambda: _move(session, traineeship_id, ("draft", "closed"), "open", actor, None))


@retry_locked
def close_traineeship(
    session: Session, traineeship_id: int, actor: str, reason: str | None = None
) -> Traineeship:
    return guarded(session, lambda: _move(session, traineeship_id, ("open",), "closed", actor, reason))


# -- applicants --------------------------------------------------------------------------------------------
def _validate_form(name: str, phone: str, school: str, major: str, graduation_year: int) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name, phone, school, major = (str(v or "").strip() for v in (name, phone, school, major))
    phone = re.sub(r"[\s-]", "", phone)
    if not 1 <= len(name) <= 32:
        errors["name"] = "请填写姓名（不超过 32 个字）。"
    if not PHONE.match(phone):
        errors["phone"] = "请填写 11 位手机号码。"
    if not 1 <= len(school) <= 100:
        errors["school"] = "请填写学校名称。"
    if not 1 <= len(major) <= 100:
        errors["major"] = "请填写专业。"
    this_year = date.today().year
    if not isinstance(graduation_year, int) or not this_year - 10 <= graduation_year <= this_year + 6:
        errors["graduation_year"] = "毕业年份不正确。"
    if errors:
        raise Invalid(fields=errors)
    return {
        "name": name,
        "phone": phone,
        "school": school,
        "major": major,
        "graduation_year": graduation_year,
    }


def ensure_open(post: Traineeship) -> None:
    """`Closed` or `DeadlinePassed` unless the post takes applications now."""
    if post.status != "open":
        raise Closed("这个岗位已停止招募。")
    deadline = aware(post.deadline)
    if deadline is not None and deadline <= utcnow():
        raise DeadlinePassed("这个岗位的报名已截止。")


def is_open(post: Traineeship) -> bool:
    try:
        ensure_open(post)
    except (Closed, DeadlinePassed):
        return False
    return True


def _check_open(post: Traineeship, user: User) -> None:
    ensure_open(post)
    reason = check(
        age=age_of(user, beijing_today()),
        education=user.education,
        district=user.district,
        age_min=post.age_min,
        age_max=post.age_max,
        min_education=post.education,
        residents_of=post.residents_of,
    )
    if reason:
        raise NotEligible(reason)


def _find(session: Session, user_id: int, traineeship_id: int) -> Application | None:
    return session.scalars(
        select(Application).where(
            Application.traineeship_id == traineeship_id, Application.user_id == user_id
        )
    ).first()


@retry_locked
def apply(
    session: Session,
    user: User,
    traineeship_id: int,
    *,
    name: str,
    phone: str,
    school: str,
    major: str,
    graduation_year: int,
) -> tuple[Application, bool]:
    """Apply once: a live application is returned as it is (False); a withdrawn one is reopened (True)."""
    post = get_traineeship(session, traineeship_id)
    existing = _find(session, user.id, traineeship_id)
    if existing is not None and existing.status != "withdrawn":
        return existing, False
    form = _validate_form(name, phone, school, major, graduation_year)
    try:
        _check_open(post, user)
        if existing is not None:
            for key, value in form.items():
                setattr(existing, key, value)
            existing.status, existing.note = "submitted", None
            application = existing
            old = "withdrawn"
        else:
            application = Application(
                traineeship_id=traineeship_id, user_id=user.id, status="submitted", **form
            )
            session.add(application)
            session.flush()
            old = None
        record_change(session, "application", application.id, old, "submitted", actor_of(user))
        notices.commit(session)
    except IntegrityError:  # a concurrent double tap committed first
        notices.rollback(session)
        found = _find(session, user.id, traineeship_id)
        if found is None:
            raise
        return found, False
    except BaseException:
        notices.rollback(session)
        raise
    return application, True


def my_applications(session: Session, user: User) -> list[Application]:
    query = select(Application).where(Application.user_id == user.id)
    return list(session.scalars(query.order_by(Application.created_at.desc(), Application.id.desc())))


@retry_locked
def withdraw(session: Session, user: User, application_id: int) -> Application:
    def work() -> Application:
        application = session.get(Application, application_id, with_for_update=True, populate_existing=True)
        if application is None or application.user_id != user.id:
            raise NotFound("没有找到这份申请。")
        if application.status == "withdrawn":
            return application
        if application.status not in LIVE:
            raise InvalidTransition("这份申请已有结果，不能撤回。")
        record_change(session, "application", application.id, application.status, "withdrawn", actor_of(user))
        application.status = "withdrawn"
        return application

    return guarded(session, work)


@retry_locked
def set_application_status(
    session: Session, application_id: int, status: str, *, actor: str, note: str | None = None
) -> Application:
    """Staff move an application on (submitted → reviewing → accepted | declined); the applicant is told."""

    def work() -> Application:
        application = session.get(Application, application_id, with_for_update=True, populate_existing=True)
        if application is None:
            raise NotFound("没有找到这份申请。")
        if status not in STAFF_MOVES.get(application.status, ()):
            raise InvalidTransition(
                f"申请当前为「{STATUS_LABELS.get(application.status, application.status)}」，"
                f"不能改为「{STATUS_LABELS.get(status, status)}」。"
            )
        record_change(session, "application", application.id, application.status, status, actor, note)
        application.status = status
        if note is not None:
            application.note = note
        user = session.get(User, application.user_id)
        post = session.get(Traineeship, application.traineeship_id)
        if user is not None and post is not None:
            body = f"您申请的见习岗位「{post.title}」（{post.employer}）状态更新为：{STATUS_LABELS[status]}。"
            if note:
                body += f"\n说明：{note}"
            notices.queue(
                session, user, "application_status", "见习申请进度", body, f"application:{application.id}"
            )
        return application

    return guarded(session, work)


def export_applications(session: Session, traineeship_id: int, fmt: str) -> bytes:
    """Staff export (`xlsx` or `csv`) of applications. Phone numbers are FULL: staff call applicants."""
    from services.importing import export_applications as _export

    return _export(session, traineeship_id, fmt)
