"""`/api/v1/activities` and `/api/v1/me/activities`: list, detail, sign up, cancel, mine."""

from __future__ import annotations

from bot.extensions import db
from miniprogram_api.present import activity_out, signup_out
from miniprogram_api.registry import operation
from miniprogram_api.schemas import ActivityOut, ActivityPage, ActivityQuery, SignupList, SignupOut
from services import activities
from services.models import User


@operation(
    "GET",
    "/api/v1/activities",
    "近期活动（最早开始的在前）",
    query=ActivityQuery,
    response=ActivityPage,
    auth=False,
)
def list_activities(query: ActivityQuery) -> ActivityPage:
    page = activities.list_activities(
        db.session(),
        category=query.category,
        district=query.district,
        keyword=query.keyword,
        limit=query.limit,
        cursor=query.cursor,
    )
    return ActivityPage(items=[activity_out(a) for a in page.items], next_cursor=page.next_cursor)


@operation(
    "GET", "/api/v1/activities/{activity_id}", "活动详情（含剩余名额）", response=ActivityOut, auth=False
)
def get_activity(activity_id: int) -> ActivityOut:
    return activity_out(activities.get_activity(db.session(), activity_id))


@operation(
    "POST",
    "/api/v1/activities/{activity_id}/signup",
    "报名活动（名额满时候补；重复提交返回同一报名）",
    response=SignupOut,
    write=True,
    consent=True,
    errors=(403, 409),
)
def sign_up(user: User, activity_id: int) -> SignupOut:
    return signup_out(db.session(), activities.sign_up(db.session(), user, activity_id))


@operation(
    "DELETE",
    "/api/v1/activities/{activity_id}/signup",
    "取消报名（名额自动递补给候补）",
    response=SignupOut,
    write=True,
)
def cancel_signup(user: User, activity_id: int) -> SignupOut:
    return signup_out(db.session(), activities.cancel_signup(db.session(), user, activity_id))


@operation("GET", "/api/v1/me/activities", "我报名的活动", response=SignupList)
def my_activities(user: User) -> SignupList:
    return SignupList(items=[signup_out(db.session(), s) for s in activities.my_signups(db.session(), user)])
