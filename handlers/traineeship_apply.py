"""The traineeship application form: name, phone, school, major, graduation year; validated one answer at a
time (re-asked, cancellable with 取消 by the form engine), then `services.traineeships.apply`."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from bot import content
from bot.dialogue import classifier
from bot.dialogue.context import Context
from bot.dialogue.forms import Field, Form, Invalid, register_form, start_form
from bot.dialogue.normalise import normalise
from bot.extensions import db
from bot.wechat.replies import Reply, Text
from services import traineeships, users
from services.eligibility import mask_phone
from services.errors import Closed, DeadlinePassed, DomainError, NotEligible, NotFound

FORM = "traineeship_apply"
NAME_CHARS = re.compile(r"^[^\d]{2,32}$")
MOBILE = re.compile(r"^1[3-9]\d{9}$")


def start(ctx: Context, post_id: int, title: str) -> Reply:
    form = start_form(ctx, FORM, {"traineeship_id": str(post_id), "title": title})
    intro = content.text("traineeship_apply_intro", title=title)
    return Text(f"{intro}\n{form.content}") if isinstance(form, Text) else form


def already(title: str, status: str) -> str:
    return content.text("traineeship_already_applied", title=title, status=status_label(status))


def status_label(status: str) -> str:
    return content.text(f"traineeship_status_{status}")


def _name(answer: str) -> str:
    value = answer.strip()
    # "活动" or "我的申请" typed mid-form is a request, not a name.
    if not NAME_CHARS.match(value) or classifier.exact_intent(normalise(value)) is not None:
        raise Invalid(content.text("traineeship_apply_name_invalid"))
    return value


def _phone(answer: str) -> str:
    digits = re.sub(r"[\s\-()（）]", "", answer)
    digits = digits.removeprefix("+86")
    if not MOBILE.match(digits):
        raise Invalid(content.text("traineeship_apply_phone_invalid"))
    return digits


def _text(field: str) -> Callable[[str], str]:
    def validate(answer: str) -> str:
        value = answer.strip()
        if not 2 <= len(value) <= 100:
            raise Invalid(content.text(f"traineeship_apply_{field}_invalid"))
        return value

    return validate


def _years() -> tuple[int, int]:
    # Recent graduates and current students: the window a 就业见习 is for (within what services accept).
    this_year = date.today().year
    return this_year - 6, this_year + 4


def _year(answer: str) -> str:
    low, high = _years()
    value = answer.strip().removesuffix("年").removesuffix("届")
    if not (value.isdigit() and low <= int(value) <= high):
        raise Invalid(content.text("traineeship_apply_year_invalid", low=low, high=high))
    return value


def _submit(ctx: Context, data: dict[str, str]) -> Reply:
    title = data.get("title", "")
    user = users.get_or_create_oa_user(db.session, ctx.openid)
    try:
        application, created = traineeships.apply(
            db.session,
            user,
            int(data["traineeship_id"]),
            name=data["name"],
            phone=data["phone"],
            school=data["school"],
            major=data["major"],
            graduation_year=int(data["graduation_year"]),
        )
    except NotEligible as exc:
        return Text(content.text("traineeship_not_eligible", title=title, reason=exc.message))
    except Closed:
        return Text(content.text("traineeship_closed", title=title))
    except DeadlinePassed:
        return Text(content.text("traineeship_deadline_passed", title=title))
    except NotFound:
        return Text(content.text("traineeship_gone"))
    except DomainError as exc:
        reason = "；".join((exc.fields or {}).values()) or exc.message
        return Text(content.text("traineeship_apply_failed", reason=reason))
    if not created:
        return Text(already(title, application.status))
    return Text(content.text("traineeship_applied", title=title, phone=mask_phone(application.phone)))


def _says(key: str) -> Callable[[], str]:
    return lambda: content.text(key)


register_form(
    Form(
        name=FORM,
        fields=(
            Field("name", _says("traineeship_apply_name_prompt"), _name),
            Field("phone", _says("traineeship_apply_phone_prompt"), _phone),
            Field("school", _says("traineeship_apply_school_prompt"), _text("school")),
            Field("major", _says("traineeship_apply_major_prompt"), _text("major")),
            Field(
                "graduation_year",
                lambda: content.text("traineeship_apply_year_prompt", example=date.today().year),
                _year,
            ),
        ),
        on_complete=_submit,
    )
)
