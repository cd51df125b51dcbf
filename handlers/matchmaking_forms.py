"""The matchmaking forms in chat (form engine: validated one answer at a time, cancellable with 取消):

- the profile: separate consent first, then nickname, age (under 18 ends the form kindly, nothing asked or
  stored after it), gender, occupation field and a short self-introduction → `save_profile`;
- the single-status declaration before a sign-up → `sign_up`;
- the confirmation before the profile and every sign-up are deleted → `withdraw_profile`.
"""

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
from handlers.listing import when
from services import matchmaking, matchmaking_profiles, users
from services.eligibility import aware
from services.errors import Closed, DeadlinePassed, DomainError, NotEligible, NotFound
from services.matchmaking_profiles import ADULT_AGE
from services.models_matchmaking import MatchEvent, MatchSignup

PROFILE = "matchmaking_profile"
SIGNUP = "matchmaking_signup"
WITHDRAW = "matchmaking_withdraw"
AGREE = frozenset({"同意", "我同意", "同意授权", "同意使用", "好的同意", "yes"})
SINGLE = frozenset({"确认", "确认单身", "我是单身", "单身", "是", "是的", "确定", "yes"})
DELETE = frozenset({"确认删除", "确定删除", "删除", "确认"})
GENDERS = {"男": "male", "男生": "male", "男性": "male", "女": "female", "女生": "female", "女性": "female"}
AGE = re.compile(r"^(\d{1,3})(?:岁|周岁)?$")


def _says(key: str) -> Callable[[], str]:
    return lambda: content.text(key)


def _one_of(words: frozenset[str], invalid: str) -> Callable[[str], str]:
    def validate(answer: str) -> str:
        if normalise(answer).compact not in words:
            raise Invalid(content.text(invalid))
        return "yes"

    return validate


def _bounded(low: int, high: int, invalid: str) -> Callable[[str], str]:
    def validate(answer: str) -> str:
        value = " ".join(answer.split())
        # "活动" or "人工" typed mid-form is a request, not an answer.
        if not low <= len(value) <= high or classifier.exact_intent(normalise(value)) is not None:
            raise Invalid(content.text(invalid))
        return value

    return validate


def _age(answer: str) -> str:
    match = AGE.match(normalise(answer).compact)
    if not match or not 1 <= int(match.group(1)) <= 100:
        raise Invalid(content.text("match_age_invalid"))
    return match.group(1)


def _adult(data: dict[str, str]) -> bool:
    return int(data.get("age", "0")) >= ADULT_AGE


def _gender(answer: str) -> str:
    value = GENDERS.get(normalise(answer).compact)
    if value is None:
        raise Invalid(content.text("match_gender_invalid"))
    return value


# -- profile ---------------------------------------------------------------------------------------
def start_profile(ctx: Context, event_id: int | None = None) -> Reply:
    """The profile form; with `event_id` the sign-up for that event follows once the profile is saved."""
    return start_form(ctx, PROFILE, {"event_id": str(event_id)} if event_id else {})


def _save_profile(ctx: Context, data: dict[str, str]) -> Reply:
    if not _adult(data):
        return Text(content.text("match_adults_only"))
    user = users.get_or_create_oa_user(db.session, ctx.openid)
    try:
        matchmaking_profiles.save_profile(
            db.session,
            user,
            consent=data.get("consent") == "yes",
            nickname=data["nickname"],
            age=int(data["age"]),
            gender=data["gender"],
            occupation=data["occupation"],
            self_intro=data["self_intro"],
        )
    except NotEligible:
        return Text(content.text("match_adults_only"))
    except DomainError as exc:
        reason = "；".join(dict.fromkeys((exc.fields or {}).values())) or exc.message
        return Text(content.text("match_profile_refused", reason=reason))
    saved = content.text("match_profile_saved")
    if data.get("event_id"):
        follow_on = start_signup(ctx, int(data["event_id"]))
        return Text(f"{saved}\n\n{follow_on.content}") if isinstance(follow_on, Text) else follow_on
    return Text(saved)


register_form(
    Form(
        name=PROFILE,
        intro=_says("match_profile_intro"),
        fields=(
            Field("consent", _says("match_consent_prompt"), _one_of(AGREE, "match_consent_invalid")),
            Field("nickname", _says("match_nickname_prompt"), _bounded(1, 16, "match_nickname_invalid")),
            Field("age", _says("match_age_prompt"), _age),
            Field("gender", _says("match_gender_prompt"), _gender, when=_adult),
            Field(
                "occupation",
                _says("match_occupation_prompt"),
                _bounded(2, 20, "match_occupation_invalid"),
                when=_adult,
            ),
            Field(
                "self_intro",
                _says("match_intro_prompt"),
                _bounded(10, 500, "match_intro_invalid"),
                when=_adult,
            ),
        ),
        on_complete=_save_profile,
    )
)


# -- sign-up ---------------------------------------------------------------------------------------
def status_label(status: str) -> str:
    return content.text(f"match_status_{status}")


def start_signup(ctx: Context, event_id: int) -> Reply:
    """Checks what can be checked before asking anything, then the single-status declaration."""
    user = users.get_or_create_oa_user(db.session, ctx.openid)
    try:
        event = matchmaking.get_event(db.session, event_id)
    except NotFound:
        return Text(content.text("match_gone"))
    for signup in matchmaking.my_signups(db.session, user):
        if signup.event_id == event_id and signup.status in ("pending", "approved", "waitlisted"):
            return Text(content.text("match_already", title=event.title, status=status_label(signup.status)))
    if matchmaking_profiles.is_minor(user):
        return Text(content.text("match_adults_only"))
    try:
        matchmaking.ensure_open(event)
    except (Closed, DeadlinePassed) as exc:
        return Text(content.text("match_closed", title=event.title, reason=exc.message))
    profile = matchmaking_profiles.get_profile(db.session, user)
    if profile is None:
        intro = content.text("match_profile_needed", title=event.title)
        form = start_profile(ctx, event_id)
        return Text(f"{intro}\n{form.content}") if isinstance(form, Text) else form
    verdict = matchmaking.eligibility(user, profile, event)
    if verdict.eligible is False:
        return Text(content.text("match_not_eligible", title=event.title, reason=verdict.reason))
    form = start_form(ctx, SIGNUP, {"event_id": str(event_id)})
    intro = content.text("match_single_intro", title=event.title)
    return Text(f"{intro}\n{form.content}") if isinstance(form, Text) else form


def signed_up(event: MatchEvent, signup: MatchSignup) -> str:
    if signup.status == "waitlisted":
        return content.text("match_signed_waitlisted", title=event.title)
    return content.text(
        f"match_signed_{signup.status}",
        title=event.title,
        when=when(aware(event.starts_at)),  # type: ignore[arg-type]
        place=event.location,
    )


def _sign_up(ctx: Context, data: dict[str, str]) -> Reply:
    user = users.get_or_create_oa_user(db.session, ctx.openid)
    event_id = int(data["event_id"])
    try:
        event = matchmaking.get_event(db.session, event_id)
        signup = matchmaking.sign_up(db.session, user, event_id, single_declared=data.get("single") == "yes")
    except NotFound:
        return Text(content.text("match_gone"))
    except NotEligible as exc:
        return Text(content.text("match_not_eligible", title=event.title, reason=exc.message))
    except (Closed, DeadlinePassed) as exc:
        return Text(content.text("match_closed", title=event.title, reason=exc.message))
    except DomainError as exc:
        return Text(content.text("match_failed", reason=exc.message))
    return Text(signed_up(event, signup))


register_form(
    Form(
        name=SIGNUP,
        fields=(Field("single", _says("match_single_prompt"), _one_of(SINGLE, "match_single_invalid")),),
        on_complete=_sign_up,
    )
)


# -- withdrawal ------------------------------------------------------------------------------------
def start_withdraw(ctx: Context) -> Reply:
    return start_form(ctx, WITHDRAW)


def _withdraw(ctx: Context, data: dict[str, str]) -> Reply:
    user = users.get_or_create_oa_user(db.session, ctx.openid)
    had_profile = matchmaking_profiles.get_profile(db.session, user) is not None
    count = matchmaking_profiles.withdraw_profile(db.session, user)
    if not had_profile and not count:
        return Text(content.text("match_withdraw_nothing"))
    return Text(content.text("match_withdrawn", count=count))


register_form(
    Form(
        name=WITHDRAW,
        fields=(Field("confirm", _says("match_withdraw_prompt"), _one_of(DELETE, "match_withdraw_invalid")),),
        on_complete=_withdraw,
    )
)
