"""12355 referrals: what the help line offers for this topic, its hours, and a callback on request."""

from __future__ import annotations

import re
from collections.abc import Callable

from bot import content
from bot.dialogue.context import Context, pure
from bot.dialogue.forms import Field, Form, Invalid, register_form, start_form
from bot.extensions import db
from bot.wechat.replies import Reply, Text
from services import help_cases

CALLBACK_WORDS = ("预约回电", "回电", "回个电话", "打给我", "给我打电话", "callback")
AGE_BANDS = {"1": "under14", "2": "14to17", "3": "adult"}
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}")


def topic_for(ctx: Context) -> str | None:
    topics = content.help_directory()["topics"]
    for name, topic in topics.items():
        if any(word in ctx.norm.compact or word in ctx.norm.words for word in topic["keywords"]):
            return name
    return None


@pure  # reads content and starts a form; the callback is stored when the form completes
def handle(ctx: Context) -> Reply:
    ctx.state.pop("misses")
    topic = topic_for(ctx)
    if any(word in ctx.norm.compact for word in CALLBACK_WORDS):
        return start_form(ctx, "callback_12355", {"topic": topic or ""})
    directory = content.help_directory()
    guidance = directory["topics"][topic]["guidance"] if topic else content.text("help_12355_general")
    if topic:
        ctx.state.set("help_topic", topic)
    return Text(
        content.text("help_12355", guidance=guidance, hours_12355=directory["lines"]["12355"]["hours"])
    )


def _age_band(answer: str) -> str:
    band = AGE_BANDS.get(answer.strip().rstrip("."))
    if band is None:
        raise Invalid(content.text("callback_age_invalid"))
    return band


def _guardian(answer: str) -> str:
    if answer.strip() not in {"同意", "监护人同意", "我同意", "同意的"}:
        raise Invalid(content.text("callback_guardian_invalid"))
    return "yes"


def _phone(answer: str) -> str:
    digits = re.sub(r"[\s()（）]", "", answer)
    if _MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits):
        return digits
    raise Invalid(content.text("callback_phone_invalid"))


def _time(answer: str) -> str:
    answer = answer.strip()
    if not answer or len(answer) > 50:
        raise Invalid(content.text("callback_time_invalid"))
    return answer


def _done(ctx: Context, data: dict[str, str]) -> Reply:
    ref = help_cases.request_callback(
        db.session,
        ctx.openid,
        ctx.source_key,
        category=data.get("topic") or ctx.state.get("help_topic"),
        age_band=data["age_band"],
        guardian_consent=True if data.get("guardian") == "yes" else None,
        phone=data["phone"],
        preferred_time=data["time"],
    )
    return Text(
        content.text(
            "callback_done",
            case_id=ref.id,
            preferred_time=data["time"],
            phone=help_cases.mask_phone(data["phone"]),
        )
    )


def _says(key: str) -> Callable[[], str]:
    return lambda: content.text(key)


# Age band comes first and a guardian's consent before a child's phone number (PIPL art. 31).
register_form(
    Form(
        name="callback_12355",
        intro=_says("callback_intro"),
        fields=(
            Field("age_band", _says("callback_age_prompt"), _age_band),
            Field(
                "guardian",
                _says("callback_guardian_prompt"),
                _guardian,
                when=lambda d: d["age_band"] == "under14",
            ),
            Field("phone", _says("callback_phone_prompt"), _phone),
            Field("time", _says("callback_time_prompt"), _time),
        ),
        on_complete=_done,
    )
)
