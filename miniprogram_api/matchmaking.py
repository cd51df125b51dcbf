"""`/api/v1/match/…`: matchmaking events with eligibility, the person's own profile (save, read, withdraw),
sign-up with the single-status declaration, cancellation, check-in, and their own sign-ups.

Only the caller's own profile is ever returned; events carry seat counts, never who signed up."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.extensions import db
from miniprogram_api.matchmaking_schemas import (
    MatchCheckinIn,
    MatchEventOut,
    MatchEventPage,
    MatchProfileIn,
    MatchProfileOut,
    MatchSignupIn,
    MatchSignupList,
    MatchSignupOut,
)
from miniprogram_api.registry import operation
from miniprogram_api.schemas import PageQuery
from services import matchmaking, matchmaking_profiles
from services.errors import NotFound
from services.models import User
from services.models_matchmaking import MatchEvent, MatchProfile, MatchSignup


def event_out(event: MatchEvent, user: User, profile: MatchProfile | None) -> MatchEventOut:
    verdict = matchmaking.eligibility(user, profile, event)
    balanced = event.balanced
    return MatchEventOut(
        id=event.id,
        title=event.title,
        description=event.description,
        partner=event.partner,
        location=event.location,
        district=event.district,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        signup_deadline=event.signup_deadline,
        cancel_deadline=event.cancel_deadline,
        age_min=event.age_min,
        age_max=event.age_max,
        capacity=event.capacity,
        seats_left=matchmaking.seats_left(event),
        gender_balanced=balanced,
        seats_left_male=matchmaking.seats_left(event, "male") if balanced else None,
        seats_left_female=matchmaking.seats_left(event, "female") if balanced else None,
        requires_review=event.requires_review,
        status=event.status,
        is_sample=event.is_sample,
        eligible=verdict.eligible,
        eligibility_reason=verdict.reason,
    )


def profile_out(profile: MatchProfile) -> MatchProfileOut:
    return MatchProfileOut(
        nickname=profile.nickname,
        birth_year=profile.birth_year,
        gender=profile.gender,  # type: ignore[arg-type]
        occupation=profile.occupation,
        self_intro=profile.self_intro,
        photo_url=profile.photo_url,
        consent_at=profile.consent_at,
        intro_status="review" if profile.intro_verdict == "review" else "pass",
        updated_at=profile.updated_at,
    )


def signup_out(
    session: Session, signup: MatchSignup, user: User, profile: MatchProfile | None = None
) -> MatchSignupOut:
    profile = profile or matchmaking_profiles.get_profile(session, user)
    try:
        event = matchmaking.get_event(session, signup.event_id, include_unpublished=True)
        shown: MatchEventOut | None = event_out(event, user, profile)
    except NotFound:
        shown = None
    return MatchSignupOut(
        id=signup.id,
        event_id=signup.event_id,
        status=signup.status,  # type: ignore[arg-type]
        checked_in_at=signup.checked_in_at,
        note=signup.note,
        event=shown,
        updated_at=signup.updated_at,
    )


@operation(
    "GET",
    "/api/v1/match/events",
    "交友活动（最早开始的在前，含我能否报名）",
    query=PageQuery,
    response=MatchEventPage,
)
def match_list_events(user: User, query: PageQuery) -> MatchEventPage:
    session = db.session()
    page = matchmaking.list_events(session, limit=query.limit, cursor=query.cursor)
    profile = matchmaking_profiles.get_profile(session, user)
    return MatchEventPage(
        items=[event_out(e, user, profile) for e in page.items], next_cursor=page.next_cursor
    )


@operation("GET", "/api/v1/match/events/{event_id}", "交友活动详情", response=MatchEventOut)
def match_get_event(user: User, event_id: int) -> MatchEventOut:
    session = db.session()
    event = matchmaking.get_event(session, event_id)
    return event_out(event, user, matchmaking_profiles.get_profile(session, user))


@operation(
    "GET",
    "/api/v1/match/profile",
    "我的交友资料（仅本人和审核活动的工作人员可见）",
    response=MatchProfileOut,
    errors=(404,),
)
def match_get_profile(user: User) -> MatchProfileOut:
    profile = matchmaking_profiles.get_profile(db.session(), user)
    if profile is None:
        raise NotFound("您还没有填写交友资料。")
    return profile_out(profile)


@operation(
    "PUT",
    "/api/v1/match/profile",
    "填写或修改交友资料（需单独同意；自我介绍经内容安全检测）",
    body=MatchProfileIn,
    response=MatchProfileOut,
    write=True,
    consent=True,
)
def match_put_profile(user: User, body: MatchProfileIn) -> MatchProfileOut:
    data = body.model_dump(exclude={"consent"}, exclude_none=True)
    profile = matchmaking_profiles.save_profile(
        db.session(), user, consent=body.consent, in_miniprogram=True, **data
    )
    return profile_out(profile)


@operation("DELETE", "/api/v1/match/profile", "撤回交友资料：删除资料和全部交友报名", status=204, write=True)
def match_delete_profile(user: User) -> None:
    matchmaking_profiles.withdraw_profile(db.session(), user)


@operation(
    "POST",
    "/api/v1/match/events/{event_id}/signup",
    "报名交友活动（需声明单身；名额满时候补；重复提交返回同一报名）",
    body=MatchSignupIn,
    response=MatchSignupOut,
    write=True,
    consent=True,
    errors=(403, 409),
)
def match_sign_up(user: User, event_id: int, body: MatchSignupIn) -> MatchSignupOut:
    session = db.session()
    signup = matchmaking.sign_up(session, user, event_id, single_declared=body.single)
    return signup_out(session, signup, user)


@operation(
    "DELETE",
    "/api/v1/match/events/{event_id}/signup",
    "取消交友活动报名（截止前；名额递补给候补）",
    response=MatchSignupOut,
    write=True,
    errors=(409,),
)
def match_cancel_signup(user: User, event_id: int) -> MatchSignupOut:
    session = db.session()
    return signup_out(session, matchmaking.cancel_signup(session, user, event_id), user)


@operation(
    "POST",
    "/api/v1/match/events/{event_id}/checkin",
    "活动现场签到（签到码由工作人员现场公布）",
    body=MatchCheckinIn,
    response=MatchSignupOut,
    write=True,
    errors=(403, 409),
)
def match_check_in(user: User, event_id: int, body: MatchCheckinIn) -> MatchSignupOut:
    session = db.session()
    return signup_out(session, matchmaking.check_in(session, user, body.code, event_id=event_id), user)


@operation("GET", "/api/v1/match/signups", "我的交友活动报名", response=MatchSignupList)
def match_my_signups(user: User) -> MatchSignupList:
    session = db.session()
    profile = matchmaking_profiles.get_profile(session, user)
    signups = matchmaking.my_signups(session, user)
    return MatchSignupList(items=[signup_out(session, s, user, profile) for s in signups])
