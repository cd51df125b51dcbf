"""The rules a micro-wish is held to: vocabularies, field validation, limits, and the one place that decides
what of a wish may leave the staff side (`PublicWish`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, has_app_context

from services.eligibility import AGE_BANDS
from services.errors import DomainError, Invalid
from services.models_wishes import Wish

ON_BEHALF = {"self": "本人", "guardian": "监护人", "social_worker": "社工"}
PRICE_BANDS = {
    "under100": "100元以内",
    "100to300": "100–300元",
    "300to1000": "300–1000元",
    "over1000": "1000元以上",
}
AGE_BAND_LABELS = {"under14": "14岁以下", "14to17": "14–17岁", "18to24": "18–24岁", "25to35": "25–35岁"}
STATUS_LABELS = {
    "submitted": "待审核",
    "needs_info": "待补充信息",
    "approved": "已上墙，等待认领",
    "rejected": "未通过审核",
    "claimed": "已被认领",
    "delivered": "已送达，待确认",
    "received": "已收到",
    "closed": "已关闭",
}
# Open: still counts against the submitter's limit (not yet received, rejected or closed).
OPEN = ("submitted", "needs_info", "approved", "claimed", "delivered")
PUBLIC = ("approved", "claimed", "delivered", "received")  # statuses a wish can be looked up in publicly
_MOBILE = re.compile(r"1[3-9]\d{9}")
_DIGITS_RUN = re.compile(r"\d{7,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# field: (min, max) characters
LENGTHS = {
    "alias": (1, 8),
    "district": (2, 32),
    "item": (2, 50),
    "story": (10, 500),
    "beneficiary_name": (2, 32),
    "school": (2, 100),
    "donor_org": (2, 100),
    "note": (1, 200),
    "answer": (2, 500),
    "reason": (2, 500),
}
REQUIRED = ("on_behalf_of", "age_band", "alias", "district", "item", "story", "price_band")
OPTIONAL = ("beneficiary_name", "school", "contact_phone", "guardian_consent")


class GuardianConsentRequired(DomainError):
    """Under-14 beneficiaries (or submitters): a guardian's consent must be recorded first."""

    def __init__(self, message: str = "未满14周岁的小朋友提交心愿，需要先征得监护人同意。") -> None:
        super().__init__("guardian_consent_required", message)


class LimitReached(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__("limit_reached", message)


@dataclass(frozen=True, slots=True)
class WishLimits:
    claim_expiry_days: int = 14
    open_per_user: int = 3
    claims_per_user: int = 5


def limits() -> WishLimits:
    """From the app's settings when there is an app (every door has one), else the defaults."""
    if not has_app_context():
        return WishLimits()
    s = current_app.config["SETTINGS"]
    return WishLimits(s.WISH_CLAIM_EXPIRY_DAYS, s.WISH_OPEN_LIMIT_PER_USER, s.WISH_CLAIM_LIMIT_PER_USER)


def clean_text(name: str, value: Any, errors: dict[str, str], required: bool = True) -> str | None:
    """A trimmed text within `LENGTHS[name]`, or None (optional and empty); problems go to `errors`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = "请填写这一项。"
        return None
    if not isinstance(value, str) or _CONTROL.search(value):
        errors[name] = "格式不正确。"
        return None
    text = " ".join(value.split()) if name not in ("story", "answer") else value.strip()
    low, high = LENGTHS[name]
    if not low <= len(text) <= high:
        errors[name] = f"请填写 {low}–{high} 个字。"
        return None
    return text


def validate_submission(data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a new wish, checked; raises `Invalid` naming every wrong field."""
    errors: dict[str, str] = {}
    for key in data:
        if key not in REQUIRED and key not in OPTIONAL:
            errors[key] = "不支持这一项。"
    values: dict[str, Any] = {}
    choices = (
        ("on_behalf_of", ON_BEHALF, "请选择为谁提交：本人、监护人代提交或社工代提交。"),
        ("age_band", AGE_BANDS, "请选择年龄段。"),
        ("price_band", PRICE_BANDS, "请选择心愿物品的价格区间。"),
    )
    for key, allowed, message in choices:
        if not isinstance(data.get(key), str) or data[key] not in allowed:
            errors[key] = message
    for key in ("on_behalf_of", "age_band", "price_band"):
        values[key] = data.get(key)
    for key in ("alias", "district", "item", "story"):
        values[key] = clean_text(key, data.get(key), errors)
    for key in ("beneficiary_name", "school"):
        values[key] = clean_text(key, data.get(key), errors, required=False)
    phone = data.get("contact_phone")
    if phone is not None and phone != "":
        digits = re.sub(r"[\s\-]", "", phone) if isinstance(phone, str) else ""
        if not _MOBILE.fullmatch(digits):
            errors["contact_phone"] = "请填写 11 位手机号码。"
        values["contact_phone"] = digits
    else:
        values["contact_phone"] = None
    consent = data.get("guardian_consent", False)
    if not isinstance(consent, bool):
        errors["guardian_consent"] = "请选择监护人是否同意。"
    values["guardian_consent"] = consent is True
    alias, name = values.get("alias"), values.get("beneficiary_name")
    if alias and name and (alias == name or (len(name) >= 2 and name in alias)):
        errors["alias"] = "称呼请用名字中的一个字、姓氏首字母或小名，不要用全名。"
    if errors:
        raise Invalid(fields=errors)
    return values


def identifying_details(wish: Wish, text: str) -> list[str]:
    """What in `text` would identify the beneficiary: the full name, the school, a phone number."""
    found = []
    if wish.beneficiary_name and wish.beneficiary_name in text:
        found.append("姓名")
    if wish.school and wish.school in text:
        found.append("学校")
    digits = re.sub(r"[\s\-]", "", text)
    if (
        (wish.contact_phone and wish.contact_phone in digits)
        or _MOBILE.search(digits)
        or _DIGITS_RUN.search(text)
    ):
        found.append("电话号码")
    return found


@dataclass(frozen=True, slots=True)
class PublicWish:
    """All that leaves the staff side about a wish for anyone but its submitter: never a full name, school,
    phone, the unedited story or anything about the submitter or donor."""

    id: int
    alias: str
    age_band: str
    district: str
    item: str
    story: str
    price_band: str
    available: bool  # on the wall, waiting for a donor
    approved_at: datetime | None
    is_sample: bool


def public_view(wish: Wish) -> PublicWish:
    return PublicWish(
        id=wish.id,
        alias=wish.public_alias or "",
        age_band=wish.age_band,
        district=wish.district,
        item=wish.public_item or "",
        story=wish.public_story or "",
        price_band=wish.price_band,
        available=wish.status == "approved",
        approved_at=wish.approved_at,
        is_sample=wish.is_sample,
    )
