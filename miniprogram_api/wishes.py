"""`/api/v1/wishes`: the wish wall, one wish, submit, mine, claim, delivered, received, answer a request for
more, withdraw. Every wish leaves through `wish_present`, which picks the view by who is asking."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from bot.extensions import db
from miniprogram_api.errors import ApiError
from miniprogram_api.registry import operation
from miniprogram_api.wish_present import claimed_out, mine_out, public_out
from miniprogram_api.wish_schemas import (
    ClaimIn,
    DeliveredIn,
    InfoIn,
    ReceivedIn,
    WishClaimedList,
    WishClaimedOut,
    WishIn,
    WishMineList,
    WishMineOut,
    WishPage,
    WishPublicOut,
    WishQuery,
)
from services import wishes
from services.errors import DomainError
from services.models import User

F = TypeVar("F", bound=Callable[..., Any])
# The wish rules' own codes, as HTTP statuses (the shared table maps the common ones).
STATUSES = {"guardian_consent_required": 403, "limit_reached": 409}


def wish_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            if exc.code in STATUSES:
                raise ApiError(STATUSES[exc.code], exc.code, exc.message, exc.fields) from None
            raise

    return wrapper  # type: ignore[return-value]


@operation(
    "GET",
    "/api/v1/wishes",
    "心愿墙：已审核、待认领的心愿（匿名展示）",
    query=WishQuery,
    response=WishPage,
    auth=False,
)
def wish_wall(query: WishQuery) -> WishPage:
    page = wishes.list_wall(db.session(), district=query.district, limit=query.limit, cursor=query.cursor)
    return WishPage(items=[public_out(w) for w in page.items], next_cursor=page.next_cursor)


@operation("GET", "/api/v1/wishes/{wish_id}", "心愿详情（匿名展示）", response=WishPublicOut, auth=False)
def wish_detail(wish_id: int) -> WishPublicOut:
    return public_out(wishes.get_public_wish(db.session(), wish_id))


@operation(
    "POST",
    "/api/v1/wishes",
    "提交心愿（14岁以下需监护人同意；内容经安全检测后由工作人员审核）",
    body=WishIn,
    response=WishMineOut,
    status=201,
    write=True,
    consent=True,
    errors=(403, 409),
)
@wish_errors
def wish_submit(user: User, body: WishIn) -> WishMineOut:
    data = body.model_dump(exclude_none=True)
    return mine_out(wishes.submit_wish(db.session(), user, data, in_miniprogram=True))


@operation("GET", "/api/v1/wishes/mine", "我提交的心愿", response=WishMineList)
def wishes_mine(user: User) -> WishMineList:
    return WishMineList(items=[mine_out(w) for w in wishes.my_wishes(db.session(), user)])


@operation("GET", "/api/v1/wishes/claimed", "我认领的心愿", response=WishClaimedList)
def wishes_claimed(user: User) -> WishClaimedList:
    return WishClaimedList(items=[claimed_out(w) for w in wishes.my_claims(db.session(), user)])


@operation(
    "POST",
    "/api/v1/wishes/{wish_id}/claim",
    "认领心愿（同一心愿只有一位认领人；可填写爱心单位）",
    body=ClaimIn,
    response=WishClaimedOut,
    write=True,
    consent=True,
    errors=(403, 409),
)
@wish_errors
def wish_claim(user: User, wish_id: int, body: ClaimIn) -> WishClaimedOut:
    return claimed_out(wishes.claim_wish(db.session(), user, wish_id, donor_org=body.donor_org))


@operation(
    "DELETE",
    "/api/v1/wishes/{wish_id}/claim",
    "放弃认领（心愿回到心愿墙）",
    response=WishPublicOut,
    write=True,
)
def wish_release(user: User, wish_id: int) -> WishPublicOut:
    return public_out(wishes.release_claim(db.session(), user, wish_id))


@operation(
    "POST",
    "/api/v1/wishes/{wish_id}/delivered",
    "认领人标记已送达（可留言）",
    body=DeliveredIn,
    response=WishClaimedOut,
    write=True,
    errors=(409,),
)
def wish_delivered(user: User, wish_id: int, body: DeliveredIn) -> WishClaimedOut:
    return claimed_out(
        wishes.mark_delivered(db.session(), user, wish_id, note=body.note, in_miniprogram=True)
    )


@operation(
    "POST",
    "/api/v1/wishes/{wish_id}/received",
    "提交人确认收到（可给爱心人士写一句感谢）",
    body=ReceivedIn,
    response=WishMineOut,
    write=True,
    errors=(409,),
)
def wish_received(user: User, wish_id: int, body: ReceivedIn) -> WishMineOut:
    wish = wishes.confirm_received(
        db.session(), wish_id, user=user, thank_you=body.thank_you, in_miniprogram=True
    )
    return mine_out(wish)


@operation(
    "POST",
    "/api/v1/wishes/{wish_id}/info",
    "补充工作人员要求的信息",
    body=InfoIn,
    response=WishMineOut,
    write=True,
    errors=(409,),
)
def wish_info(user: User, wish_id: int, body: InfoIn) -> WishMineOut:
    return mine_out(wishes.answer_info(db.session(), user, wish_id, body.answer, in_miniprogram=True))


@operation(
    "POST",
    "/api/v1/wishes/{wish_id}/withdraw",
    "撤回尚未被认领的心愿",
    response=WishMineOut,
    write=True,
    errors=(409,),
)
def wish_withdraw(user: User, wish_id: int) -> WishMineOut:
    return mine_out(wishes.withdraw_wish(db.session(), user, wish_id))
