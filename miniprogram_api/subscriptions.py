"""`/api/v1/subscriptions`: the miniprogram reports what the user chose in `wx.requestSubscribeMessage`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, RootModel, StringConstraints

from bot.extensions import db
from miniprogram_api.errors import ApiError
from miniprogram_api.registry import operation
from miniprogram_api.schemas import Output
from services import subscriptions
from services.models import User

TemplateId = Annotated[str, StringConstraints(pattern=subscriptions.TEMPLATE_ID_PATTERN)]


class SubscriptionsIn(RootModel[dict[TemplateId, Literal["accept", "reject", "ban", "filter"]]]):
    """`{template_id: accept | reject | ban | filter}`, as `wx.requestSubscribeMessage` returns it."""

    root: Annotated[
        dict[TemplateId, Literal["accept", "reject", "ban", "filter"]],
        Field(min_length=1, max_length=subscriptions.MAX_TEMPLATES),
    ]


class SubscriptionsOut(Output):
    credits: dict[str, int] = Field(description="每个模板现在可以发送的次数")


@operation(
    "POST",
    "/api/v1/subscriptions",
    "提交订阅消息授权结果（accept 增加一次可发送次数，reject/ban 清零）",
    body=SubscriptionsIn,
    response=SubscriptionsOut,
    write=True,
    errors=(409,),
)
def record_subscriptions(user: User, body: SubscriptionsIn) -> SubscriptionsOut:
    if not user.openid:
        raise ApiError(409, "no_openid", "请在小程序内登录后再订阅")
    return SubscriptionsOut(credits=subscriptions.record_choices(db.session(), user.openid, body.root))
