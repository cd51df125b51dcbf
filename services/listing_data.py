"""Validation of what staff type or import for a traineeship post or an activity.

Accepts friendly spellings (Chinese education labels, "3000元", "2026/12/31") so that the console and the
importer share one set of rules. A date without a time means the end of that day, Beijing time.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

from services.eligibility import BEIJING, EDUCATION, EDUCATION_LABELS
from services.errors import Invalid

EDUCATION_ALIASES = {label: code for code, label in EDUCATION_LABELS.items()} | {
    "": None,
    "不限": None,
    "none": None,
    "中专": "vocational",
    "职高": "vocational",
    "专科": "associate",
    "大学本科": "bachelor",
    "研究生": "master",
    "硕士研究生": "master",
    "博士研究生": "doctor",
}

_TEXT = {
    "title": 100,
    "employer": 100,
    "district": 32,
    "field": 32,
    "location": 200,
    "category": 32,
    "residents_of": 32,
}
_REQUIRED_TRAINEESHIP = ("title", "employer", "district", "field")
_REQUIRED_ACTIVITY = ("title", "category", "location", "district", "starts_at", "capacity")
_OPTIONAL_TRAINEESHIP = (
    "education",
    "stipend",
    "positions",
    "location",
    "description",
    "age_min",
    "age_max",
    "residents_of",
    "deadline",
)
# Every field of a post, in form order (the console's form and its edit view).
TRAINEESHIP_FIELDS = (*_REQUIRED_TRAINEESHIP, *_OPTIONAL_TRAINEESHIP)
_OPTIONAL_ACTIVITY = (
    "description",
    "ends_at",
    "waitlist",
    "age_min",
    "age_max",
    "residents_of",
    "signup_deadline",
)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = re.sub(r"[元/月人名个岁,，\s]", "", str(value))
    return int(text)


def parse_datetime(value: Any, end_of_day: bool = True) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=BEIJING)
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59, 59) if end_of_day else time(0), BEIJING)
    text = str(value).strip().replace("/", "-").replace("年", "-").replace("月", "-").replace("日", "")
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
        y, m, d = (int(p) for p in text.split("-"))
        return parse_datetime(date(y, m, d), end_of_day)
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=BEIJING)


def parse_education(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    if text in EDUCATION:
        return None if text == "none" else text
    if text.endswith("及以上"):
        text = text.removesuffix("及以上")
    if text in EDUCATION_ALIASES:
        return EDUCATION_ALIASES[text]
    raise ValueError


def _validate(
    data: dict[str, Any], required: tuple[str, ...], optional: tuple[str, ...], partial: bool
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key in data:
        if key not in required and key not in optional:
            errors[key] = "不认识这一项。"
    for key in (*required, *optional):
        if key not in data:
            if key in required and not partial:
                errors[key] = "必填。"
            continue
        raw = data[key]
        if _blank(raw):
            if key in required:
                errors[key] = "必填。"
            elif key == "description":
                values[key] = ""
            elif key not in ("positions", "waitlist"):
                values[key] = None
            continue
        try:
            if key in _TEXT:
                text = str(raw).strip()
                if len(text) > _TEXT[key]:
                    errors[key] = f"不能超过 {_TEXT[key]} 个字。"
                    continue
                values[key] = text
            elif key == "description":
                values[key] = str(raw).strip()
            elif key in ("stipend", "positions", "age_min", "age_max", "capacity"):
                number = parse_int(raw)
                if number < 0 or (key in ("positions", "capacity") and number < 1) or number > 1_000_000:
                    errors[key] = "数字不在合理范围内。"
                    continue
                values[key] = number
            elif key == "education":
                values[key] = parse_education(raw)
            elif key == "waitlist":
                values[key] = (
                    raw if isinstance(raw, bool) else str(raw).strip().lower() in ("1", "true", "是", "yes")
                )
            else:  # deadline, starts_at, ends_at, signup_deadline
                values[key] = parse_datetime(raw, end_of_day=key in ("deadline", "signup_deadline"))
        except (ValueError, TypeError, OverflowError):
            errors[key] = {
                "education": "学历请填写：不限、高中、中专/职高、大专、本科、硕士或博士。",
            }.get(
                key,
                "格式不正确（日期如 2026-12-31）。"
                if "deadline" in key or key.endswith("_at")
                else "请填写数字。",
            )
    low, high = values.get("age_min"), values.get("age_max")
    if low is not None and high is not None and low > high:
        errors["age_max"] = "年龄上限不能小于下限。"
    start, end = values.get("starts_at"), values.get("ends_at")
    if start is not None and end is not None and end <= start:
        errors["ends_at"] = "结束时间需晚于开始时间。"
    if errors:
        raise Invalid(fields=errors)
    return values


def validate_traineeship(data: dict[str, Any], partial: bool = False) -> dict[str, Any]:
    return _validate(data, _REQUIRED_TRAINEESHIP, _OPTIONAL_TRAINEESHIP, partial)


def validate_activity(data: dict[str, Any], partial: bool = False) -> dict[str, Any]:
    return _validate(data, _REQUIRED_ACTIVITY, _OPTIONAL_ACTIVITY, partial)
