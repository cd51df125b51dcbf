"""Eligibility rules shared by traineeships and activities, and small helpers for time and phones.

Unknown profile data passes: a person who has not told us their age, education or district is not turned
away here; staff verify those details when they review the application or the sign-up list.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from services.help_cases import mask_phone

__all__ = ["AGE_BANDS", "EDUCATION", "age_range", "check", "mask_phone"]

EDUCATION = ("none", "high_school", "vocational", "associate", "bachelor", "master", "doctor")
EDUCATION_LABELS = {
    "none": "不限",
    "high_school": "高中",
    "vocational": "中专/职高",
    "associate": "大专",
    "bachelor": "本科",
    "master": "硕士",
    "doctor": "博士",
}
AGE_BANDS: dict[str, tuple[int, int]] = {
    "under14": (6, 13),
    "14to17": (14, 17),
    "18to24": (18, 24),
    "25to35": (25, 35),
}
BEIJING = timezone(timedelta(hours=8))


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything is stored in UTC, so naive means UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def beijing_today() -> date:
    return utcnow().astimezone(BEIJING).date()


def education_rank(level: str | None) -> int | None:
    return EDUCATION.index(level) if level in EDUCATION else None


def age_range(age_band: str | None, birth_year: int | None, today: date) -> tuple[int, int] | None:
    if birth_year:
        # Without the birthday the age is one of two values.
        return (today.year - birth_year - 1, today.year - birth_year)
    return AGE_BANDS.get(age_band or "")


def check(
    *,
    age: tuple[int, int] | None,
    education: str | None,
    district: str | None,
    age_min: int | None,
    age_max: int | None,
    min_education: str | None,
    residents_of: str | None,
) -> str | None:
    """The reason (Chinese, fit to show) the person cannot take part, or None."""
    if age is not None:
        low, high = age
        # Any overlap passes: the profile only says the age lies somewhere in [low, high].
        if age_min is not None and high < age_min:
            return f"需年满 {age_min} 周岁。"
        if age_max is not None and low > age_max:
            return f"年龄需在 {age_max} 周岁及以下。"
    need = education_rank(min_education)
    have = education_rank(education)
    if need is not None and have is not None and have < need:
        return f"学历需为{EDUCATION_LABELS[min_education or 'none']}及以上。"
    if residents_of and district and district != residents_of:
        return f"仅限{residents_of}的青年报名。"
    return None
