"""Submitting a micro-wish in chat: who it is for and the age band first, a guardian's consent for under-14s
before anything else, then the public alias, district, item, story, price band and a contact phone for staff.
Validated one answer at a time and cancellable (the form engine), then `services.wishes.submit_wish`."""

from __future__ import annotations

import re
from collections.abc import Callable

from bot import content
from bot.dialogue import classifier
from bot.dialogue.context import Context
from bot.dialogue.forms import Field, Form, Invalid, register_form, start_form
from bot.dialogue.normalise import normalise
from bot.extensions import db
from bot.wechat.replies import Reply, Text
from handlers.listing import DISTRICTS
from services import users, wishes
from services.errors import DomainError

FORM = "micro_wish_submit"
FOR_WHOM = {"1": "self", "2": "guardian", "3": "social_worker"}
AGE_BANDS = {"1": "under14", "2": "14to17", "3": "18to24", "4": "25to35"}
PRICES = {"1": "under100", "2": "100to300", "3": "300to1000", "4": "over1000"}
CONSENT_WORDS = frozenset({"同意", "监护人同意", "我同意", "同意的", "我是监护人我同意"})
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def start(ctx: Context) -> Reply:
    return start_form(ctx, FORM)


def _choice(options: dict[str, str], invalid: str) -> Callable[[str], str]:
    def validate(answer: str) -> str:
        value = options.get(answer.strip().rstrip(".、").strip())
        if value is None:
            raise Invalid(content.text(invalid))
        return value

    return validate


def _guardian(answer: str) -> str:
    if normalise(answer).compact not in CONSENT_WORDS:
        raise Invalid(content.text("wish_guardian_invalid"))
    return "yes"


def _alias(answer: str) -> str:
    value = answer.strip()
    if not 1 <= len(value) <= 8 or re.search(r"\d", value) or classifier.exact_intent(normalise(value)):
        raise Invalid(content.text("wish_alias_invalid"))
    return value


def _district(answer: str) -> str:
    compact = normalise(answer).compact
    for district in DISTRICTS:
        if compact in (district, f"{district}区"):
            return f"{district}区"
    raise Invalid(content.text("wish_district_invalid"))


def _length(low: int, high: int, invalid: str) -> Callable[[str], str]:
    def validate(answer: str) -> str:
        value = answer.strip()
        if not low <= len(value) <= high or classifier.exact_intent(normalise(value)):
            raise Invalid(content.text(invalid))
        return value

    return validate


def _phone(answer: str) -> str:
    digits = re.sub(r"[\s\-()（）]", "", answer).removeprefix("+86")
    if not _MOBILE.match(digits):
        raise Invalid(content.text("wish_phone_invalid"))
    return digits


def _submit(ctx: Context, data: dict[str, str]) -> Reply:
    user = users.get_or_create_oa_user(db.session, ctx.openid)
    fields = {
        "on_behalf_of": data["for_whom"],
        "age_band": data["age_band"],
        "guardian_consent": data.get("guardian") == "yes",
        "alias": data["alias"],
        "district": data["district"],
        "item": data["item"],
        "story": data["story"],
        "price_band": data["price_band"],
        "contact_phone": data["phone"],
    }
    try:
        wish = wishes.submit_wish(db.session, user, fields)
    except DomainError as exc:
        reason = "；".join((exc.fields or {}).values()) or exc.message
        return Text(content.text("wish_submit_failed", reason=reason))
    return Text(content.text("wish_submitted", wish_id=wish.id))


def _says(key: str) -> Callable[[], str]:
    return lambda: content.text(key)


register_form(
    Form(
        name=FORM,
        intro=_says("wish_form_intro"),
        fields=(
            Field("for_whom", _says("wish_for_prompt"), _choice(FOR_WHOM, "wish_for_invalid")),
            # Age band first, and a guardian's consent before anything about the child (PIPL art. 31).
            Field("age_band", _says("wish_age_prompt"), _choice(AGE_BANDS, "wish_age_invalid")),
            Field(
                "guardian",
                _says("wish_guardian_prompt"),
                _guardian,
                when=lambda d: d["age_band"] == "under14",
            ),
            Field("alias", _says("wish_alias_prompt"), _alias),
            Field("district", _says("wish_district_prompt"), _district),
            Field("item", _says("wish_item_prompt"), _length(2, 50, "wish_item_invalid")),
            Field("story", _says("wish_story_prompt"), _length(10, 500, "wish_story_invalid")),
            Field("price_band", _says("wish_price_prompt"), _choice(PRICES, "wish_price_invalid")),
            Field("phone", _says("wish_phone_prompt"), _phone),
        ),
        on_complete=_submit,
    )
)
