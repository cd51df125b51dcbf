"""Request and response schemas (pydantic v2): the one source of validation and of the OpenAPI document."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

AgeBand = Literal["under14", "14to17", "18to24", "25to35"]
Education = Literal["none", "high_school", "vocational", "associate", "bachelor", "master", "doctor"]
MAX_ID = 2**31 - 1  # ids are 32-bit integers in every database we run on

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("包含不允许的控制字符")
    return value.strip()


Text = Annotated[str, AfterValidator(_clean)]


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC. Clients always get an offset.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


Instant = Annotated[datetime, AfterValidator(_utc)]


def _text(max_length: int, min_length: int = 0) -> Any:
    return Annotated[Text, Field(min_length=min_length, max_length=max_length)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=2000)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- errors ----------------------------------------------------------------------------------------------
class ErrorBody(Output):
    code: str = Field(description="stable machine-readable code, e.g. not_found, validation_error")
    message: str = Field(description="a Chinese message fit to show the user")
    fields: dict[str, str] | None = Field(None, description="per-field Chinese messages (validation errors)")


class ErrorEnvelope(Output):
    error: ErrorBody


# -- auth and profile ------------------------------------------------------------------------------------
class LoginIn(Input):
    code: _text(128, 1) = Field(description="the code from wx.login (single use, 5 minutes)")  # type: ignore[valid-type]


class UserOut(Output):
    id: int
    nickname: str | None
    age_band: AgeBand | None
    birth_year: int | None
    district: str | None
    education: Education | None
    phone_masked: str | None = Field(description="never the full number")
    privacy_consent: bool
    guardian_consent: bool
    created_at: Instant | None


class LoginOut(Output):
    token: str = Field(description="send as `Authorization: Bearer <token>`")
    expires_at: Instant
    user: UserOut


class ProfilePatch(Input):
    nickname: _text(32, 1) | None = None  # type: ignore[valid-type]
    age_band: AgeBand | None = None
    birth_year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    district: _text(32, 1) | None = None  # type: ignore[valid-type]
    education: Education | None = None
    privacy_consent: bool | None = None
    guardian_consent: bool | None = None


# -- traineeships ----------------------------------------------------------------------------------------
class PageQuery(Input):
    cursor: _text(200, 1) | None = Field(None, description="`next_cursor` from the previous page")  # type: ignore[valid-type]
    limit: Annotated[int, Field(ge=1, le=50)] = 10


class TraineeshipQuery(PageQuery):
    keyword: _text(50, 1) | None = None  # type: ignore[valid-type]
    district: _text(32, 1) | None = None  # type: ignore[valid-type]
    field: _text(32, 1) | None = None  # type: ignore[valid-type]
    education: Education | None = None
    min_stipend: Annotated[int, Field(ge=0, le=1_000_000)] | None = None


class TraineeshipOut(Output):
    id: int
    title: str
    employer: str
    district: str
    field: str
    education: str | None
    stipend: int | None
    positions: int
    location: str | None
    description: str
    deadline: Instant | None
    status: str
    published_at: Instant | None
    is_sample: bool


class TraineeshipPage(Output):
    items: list[TraineeshipOut]
    next_cursor: str | None


class ApplyIn(Input):
    name: _text(32, 1)  # type: ignore[valid-type]
    phone: Annotated[str, Field(pattern=r"^1[3-9]\d{9}$", description="mainland mobile number, 11 digits")]
    school: _text(100, 1)  # type: ignore[valid-type]
    major: _text(100, 1)  # type: ignore[valid-type]
    graduation_year: Annotated[int, Field(ge=1950, le=2100)]


class ApplicationOut(Output):
    id: int
    traineeship_id: int
    traineeship_title: str | None
    status: Literal["submitted", "reviewing", "accepted", "declined", "withdrawn"]
    note: str | None
    name: str
    phone_masked: str
    school: str
    major: str
    graduation_year: int
    created_at: Instant | None
    updated_at: Instant | None


class ApplicationList(Output):
    items: list[ApplicationOut]


# -- activities ------------------------------------------------------------------------------------------
class ActivityQuery(PageQuery):
    category: _text(32, 1) | None = None  # type: ignore[valid-type]
    district: _text(32, 1) | None = None  # type: ignore[valid-type]
    keyword: _text(50, 1) | None = None  # type: ignore[valid-type]


class ActivityOut(Output):
    id: int
    title: str
    category: str
    description: str
    location: str
    district: str
    starts_at: Instant
    ends_at: Instant | None
    capacity: int
    seats_left: int
    waitlist: bool
    signup_deadline: Instant | None
    status: str
    is_sample: bool


class ActivityPage(Output):
    items: list[ActivityOut]
    next_cursor: str | None


class SignupOut(Output):
    id: int
    activity_id: int
    status: Literal["confirmed", "waitlisted", "cancelled"]
    activity: ActivityOut | None
    updated_at: Instant | None


class SignupList(Output):
    items: list[SignupOut]


# -- notices ---------------------------------------------------------------------------------------------
class NoticeOut(Output):
    id: int
    kind: str
    title: str
    body: str
    subject: str | None
    created_at: Instant | None
    read_at: Instant | None


class NoticeList(Output):
    items: list[NoticeOut]
    unread: int


# -- validation messages in Chinese ----------------------------------------------------------------------
_MESSAGES: dict[str, str] = {
    "missing": "必填",
    "extra_forbidden": "不支持该字段",
    "string_type": "必须是文本",
    "string_too_short": "不能为空",
    "too_short": "不能为空",
    "too_long": "不能超过 {max_length} 个字符",
    "string_too_long": "不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "必须是整数",
    "int_parsing": "必须是整数",
    "int_from_float": "必须是整数",
    "bool_type": "必须是 true 或 false",
    "bool_parsing": "必须是 true 或 false",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "literal_error": "必须是以下之一：{expected}",
    "model_type": "必须是 JSON 对象",
    "model_attributes_type": "必须是 JSON 对象",
    "dict_type": "必须是 JSON 对象",
}


def chinese_errors(exc: ValidationError) -> dict[str, str]:
    """`{field: message}` in Chinese, one message per field (the first problem found)."""
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in error["loc"]) or "body"
        if loc in fields:
            continue
        ctx = error.get("ctx") or {}
        if error["type"] == "value_error" and "error" in ctx:
            fields[loc] = str(ctx["error"])
            continue
        template = _MESSAGES.get(error["type"], "格式不正确")
        try:
            fields[loc] = template.format(**ctx)
        except (KeyError, IndexError):
            fields[loc] = "格式不正确"
    return fields
