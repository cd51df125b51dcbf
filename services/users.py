"""People: find-or-create by openid (race-safe), profile updates with validation, age ranges, erasure."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import actor_of, guarded, retry_locked
from services.eligibility import AGE_BANDS, EDUCATION, age_range, utcnow
from services.errors import Invalid
from services.models import ApiSession, Application, Signup, StatusChange, User, UserNotice

PHONE = re.compile(r"^1[3-9]\d{9}$")
PROFILE_FIELDS = {"nickname", "age_band", "birth_year", "district", "education", "phone"}
CONSENTS = {"privacy_consent": "privacy_consent_at", "guardian_consent": "guardian_consent_at"}


def _get_or_create(session: Session, column: Any, value: str, unionid: str | None) -> User:
    for _ in range(3):
        user = session.scalars(select(User).where(column == value)).first()
        if user is None and unionid:
            # The same person met through the other door: link rather than make a second person.
            user = session.scalars(
                select(User).where(User.unionid == unionid, column.is_(None)).order_by(User.id)
            ).first()
            if user is not None:
                setattr(user, column.key, value)
        if user is None:
            user = User(unionid=unionid)
            setattr(user, column.key, value)
            session.add(user)
        elif unionid and not user.unionid:
            user.unionid = unionid
        try:
            session.commit()
            return user
        except IntegrityError:  # a concurrent first visit won: read theirs
            session.rollback()
    raise RuntimeError(f"could not create a user for {column.key}")


@retry_locked
def get_or_create_mp_user(session: Session, openid: str, unionid: str | None = None) -> User:
    return _get_or_create(session, User.openid, openid, unionid)


@retry_locked
def get_or_create_oa_user(session: Session, oa_openid: str) -> User:
    return _get_or_create(session, User.oa_openid, oa_openid, None)


def _validate(changes: dict[str, Any], today: date) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key, value in changes.items():
        if key in CONSENTS:
            if not isinstance(value, bool):
                errors[key] = "请选择同意或不同意。"
            else:
                values[CONSENTS[key]] = utcnow() if value else None
            continue
        if key not in PROFILE_FIELDS:
            errors[key] = "不支持修改这一项。"
            continue
        if value is None or value == "":
            values[key] = None
        elif key == "age_band" and value not in AGE_BANDS:
            errors[key] = "年龄段只能是 14 岁以下、14–17 岁、18–24 岁或 25–35 岁。"
        elif key == "education" and value not in EDUCATION:
            errors[key] = "请选择学历。"
        elif key == "birth_year" and (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not today.year - 100 <= value <= today.year
        ):
            errors[key] = "出生年份不正确。"
        elif key == "phone" and not (isinstance(value, str) and PHONE.match(value.strip())):
            errors[key] = "请填写 11 位手机号码。"
        elif key in {"nickname", "district"} and not (isinstance(value, str) and len(value.strip()) <= 32):
            errors[key] = "不能超过 32 个字。"
        else:
            values[key] = value.strip() if isinstance(value, str) else value
    if errors:
        raise Invalid(fields=errors)
    return values


@retry_locked
def update_profile(session: Session, user: User, **changes: Any) -> User:
    """Change nickname, age_band, birth_year, district, education, phone and the two consents."""
    values = _validate(changes, date.today())

    def work() -> User:
        for key, value in values.items():
            setattr(user, key, value)
        return user

    return guarded(session, work)


def age_of(user: User, today: date) -> tuple[int, int] | None:
    """The age range the profile allows: exact (±1 for the birthday) from the birth year, else the band."""
    return age_range(user.age_band, user.birth_year, today)


@retry_locked
def erase_user(session: Session, user: User) -> None:
    """Delete a person and what they told us. Seats they held go to the waitlist; the status history
    (which names no one, only `user:<id>` of a row that no longer exists) keeps the anonymous counts."""
    from services import subscriptions
    from services.activities import release_signup  # activities imports users' helpers: import late
    from services.matchmaking_profiles import purge as purge_matchmaking
    from services.wishes import erase_for_user as erase_wishes

    actor = actor_of(user)

    def work() -> None:
        purge_matchmaking(session, user, actor, "用户注销")
        signups = session.scalars(
            select(Signup).where(Signup.user_id == user.id, Signup.status != "cancelled").with_for_update()
        ).all()
        for signup in signups:
            release_signup(session, signup, actor, "用户注销")
        for application in session.scalars(
            select(Application).where(Application.user_id == user.id, Application.status != "withdrawn")
        ):
            session.add(
                StatusChange(
                    subject="application",
                    subject_id=application.id,
                    from_status=application.status,
                    to_status="withdrawn",
                    actor=actor,
                    reason="用户注销",
                )
            )
        session.flush()
        erase_wishes(session, user, actor)
        subscriptions.erase_for(session, [user.openid, user.oa_openid])  # the ledger is keyed by openid
        session.flush()
        for model in (Application, Signup, UserNotice, ApiSession):
            session.execute(delete(model).where(model.user_id == user.id))  # type: ignore[attr-defined]
        session.delete(user)

    guarded(session, work)
