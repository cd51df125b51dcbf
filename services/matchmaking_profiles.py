"""The matchmaking profile: adults only, its own consent (sensitive data under PIPL), free text screened by
content safety before any staff member reads it, and withdrawal that deletes the profile and every
matchmaking sign-up of the person (seats pass to the waitlist)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services import content_safety
from services.common import actor_of, guarded, retry_locked
from services.eligibility import beijing_today, utcnow
from services.errors import Invalid, NotEligible
from services.matchmaking_seats import LIVE, SUBJECT, lock_event, release
from services.models import User, UserNotice
from services.models_matchmaking import GENDERS, MatchProfile, MatchSignup

ADULT_AGE = 18
ADULTS_ONLY = "婚恋交友活动仅面向年满 18 周岁的单身青年。"
MINOR_BANDS = ("under14", "14to17")
GENDER_WORDS = {
    "male": "male",
    "female": "female",
    "男": "male",
    "女": "female",
    "男生": "male",
    "女生": "female",
}
URL = re.compile(r"^https?://[^\s]{1,490}$")
LIMITS = {"nickname": (1, 16), "occupation": (2, 20), "self_intro": (10, 500)}


def is_minor(user: User) -> bool:
    """What the person told us elsewhere (the age band they chose) already says they are under 18."""
    return user.age_band in MINOR_BANDS


def get_profile(session: Session, user: User) -> MatchProfile | None:
    return session.scalars(select(MatchProfile).where(MatchProfile.user_id == user.id)).first()


def _birth_year(age: Any, birth_year: Any, today: date, errors: dict[str, str]) -> int | None:
    """From a stated age (chat asks for it) or a birth year (the miniprogram's picker); adults only."""
    if age is not None:
        if isinstance(age, bool) or not isinstance(age, int) or not 0 < age <= 100:
            errors["age"] = "请填写周岁年龄，如 26。"
            return None
        if age < ADULT_AGE:
            raise NotEligible(ADULTS_ONLY, fields={"age": ADULTS_ONLY})
        return today.year - age
    if birth_year is None:
        errors["age"] = "请填写年龄或出生年份。"
        return None
    if (
        isinstance(birth_year, bool)
        or not isinstance(birth_year, int)
        or not 1900 <= birth_year <= today.year
    ):
        errors["birth_year"] = "出生年份不正确。"
        return None
    # Without the birthday, someone who turns 18 this year may still be 17: only surely-adult years pass.
    if today.year - birth_year - 1 < ADULT_AGE:
        raise NotEligible(ADULTS_ONLY, fields={"birth_year": ADULTS_ONLY})
    return birth_year


def _validate(data: dict[str, Any], today: date) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key, (low, high) in LIMITS.items():
        raw = data.get(key)
        text = " ".join(raw.split()) if key != "self_intro" and isinstance(raw, str) else raw
        text = text.strip() if isinstance(text, str) else None
        if not text or not low <= len(text) <= high:
            errors[key] = f"请填写 {low}–{high} 个字。"
        else:
            values[key] = text
    gender = GENDER_WORDS.get(str(data.get("gender") or "").strip())
    if gender not in GENDERS:
        errors["gender"] = "请选择男或女。"
    values["gender"] = gender
    photo = data.get("photo_url")
    if photo is not None and photo != "" and not (isinstance(photo, str) and URL.match(photo.strip())):
        errors["photo_url"] = "照片地址不正确。"
    values["photo_url"] = photo.strip() if isinstance(photo, str) and photo.strip() else None
    values["birth_year"] = _birth_year(data.get("age"), data.get("birth_year"), today, errors)
    if errors:
        raise Invalid(fields=errors)
    return values


@retry_locked
def save_profile(
    session: Session, user: User, *, consent: bool, in_miniprogram: bool = False, **data: Any
) -> MatchProfile:
    """Create or replace the person's profile: `nickname`, `age` or `birth_year`, `gender` (male | female,
    男 | 女), `occupation` (the field they work in), `self_intro`, optional `photo_url`.

    `consent` is the separate consent to this sensitive use; without it nothing is stored. The free text goes
    through content safety: risky → `Invalid` (nothing stored), review → stored and flagged for staff.
    `in_miniprogram`: the request comes from the miniprogram now (WeChat's check may use the openid)."""
    if consent is not True:
        raise Invalid(
            "填写交友资料前，需要您单独同意我们为组织交友活动使用这些信息。",
            fields={"consent": "请阅读并同意交友资料使用说明。"},
        )
    if is_minor(user):
        raise NotEligible(ADULTS_ONLY)
    unknown = set(data) - {"nickname", "age", "birth_year", "gender", "occupation", "self_intro", "photo_url"}
    if unknown:
        raise Invalid(fields={key: "不支持这一项。" for key in sorted(unknown)})
    values = _validate(data, beijing_today())
    # The network call happens before the transaction opens: no row is locked while WeChat answers.
    openid = content_safety.miniprogram_openid(session, user, in_miniprogram=in_miniprogram)
    verdict = content_safety.check_fields(
        {k: values[k] for k in ("nickname", "occupation", "self_intro")}, openid=openid, scene=1
    )
    if verdict.suggest == "risky":
        message = (
            "资料里有不适合发布的内容"
            + (f"（{verdict.reason}）" if verdict.reason else "")
            + "，请修改后再提交。"
        )
        raise Invalid(message, fields={"self_intro": message})
    values.update(intro_verdict=verdict.suggest, intro_reason=verdict.reason, consent_at=utcnow())

    def work() -> MatchProfile:
        profile = get_profile(session, user)
        if profile is not None and profile.gender != values["gender"] and _holds_live(session, user):
            raise Invalid(fields={"gender": "您有进行中的交友活动报名，暂不能修改性别；可先取消报名。"})
        if profile is None:
            profile = MatchProfile(user_id=user.id, **values)
            session.add(profile)
        else:
            for key, value in values.items():
                setattr(profile, key, value)
        session.flush()
        return profile

    try:
        return guarded(session, work)
    except IntegrityError:  # a concurrent first save won: this save replaces it
        return guarded(session, lambda: _overwrite(session, user, values))


def _overwrite(session: Session, user: User, values: dict[str, Any]) -> MatchProfile:
    profile = get_profile(session, user)
    assert profile is not None
    for key, value in values.items():
        setattr(profile, key, value)
    return profile


def _holds_live(session: Session, user: User) -> bool:
    return (
        session.scalars(
            select(MatchSignup.id)
            .where(MatchSignup.user_id == user.id, MatchSignup.status.in_(LIVE))
            .limit(1)
        ).first()
        is not None
    )


def purge(session: Session, user: User, actor: str, reason: str) -> int:
    """Inside the caller's transaction: release every live sign-up (promoting waitlists), then delete the
    person's sign-ups, the notices about them, and the profile. Returns how many sign-ups were deleted."""
    event_ids = sorted(
        set(session.scalars(select(MatchSignup.event_id).where(MatchSignup.user_id == user.id)))
    )
    for event_id in event_ids:  # event row first, then the sign-up: the lock order every path uses
        event = lock_event(session, event_id)
        signup = session.scalars(
            select(MatchSignup)
            .where(MatchSignup.event_id == event_id, MatchSignup.user_id == user.id)
            .with_for_update()
        ).first()
        if event is not None and signup is not None and signup.status in LIVE:
            release(session, event, signup, actor, reason)
    session.flush()
    session.execute(
        delete(UserNotice).where(UserNotice.user_id == user.id, UserNotice.subject.like(f"{SUBJECT}:%"))
    )
    session.execute(delete(MatchSignup).where(MatchSignup.user_id == user.id))
    session.execute(delete(MatchProfile).where(MatchProfile.user_id == user.id))
    return len(event_ids)


@retry_locked
def withdraw_profile(session: Session, user: User) -> int:
    """Delete the profile and all of the person's matchmaking sign-ups, at any time (no deadline applies).
    Idempotent: withdrawing with nothing stored returns 0."""
    count = guarded(session, lambda: purge(session, user, actor_of(user), "用户撤回交友资料"))
    session.expire_all()  # the conditional UPDATEs and bulk deletes bypassed the identity map
    return int(count)
