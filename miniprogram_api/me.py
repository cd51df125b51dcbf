"""`/api/v1/me`: the profile, erasure, and the notice inbox."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, update

from bot.extensions import db
from miniprogram_api.present import notice_out, user_out
from miniprogram_api.registry import operation
from miniprogram_api.schemas import NoticeList, NoticeOut, ProfilePatch, UserOut
from services import users
from services.errors import NotFound
from services.models import User, UserNotice

INBOX_SIZE = 50


@operation("GET", "/api/v1/me", "我的资料")
def get_me(user: User) -> UserOut:
    return user_out(user)


@operation("PATCH", "/api/v1/me", "修改我的资料与授权", body=ProfilePatch, response=UserOut, write=True)
def patch_me(user: User, body: ProfilePatch) -> UserOut:
    changes = body.model_dump(exclude_unset=True)
    return user_out(users.update_profile(db.session(), user, **changes) if changes else user)


@operation("DELETE", "/api/v1/me", "注销：删除我的个人信息", status=204, write=True)
def delete_me(user: User) -> None:
    users.erase_user(db.session(), user)


# The services have no inbox query yet (services/notices.py only records and sends): these two are the
# read side of `UserNotice`, kept here until the services grow `inbox()` / `mark_read()`.
@operation("GET", "/api/v1/me/notices", "我的消息（最新的在前）", response=NoticeList)
def my_notices(user: User) -> NoticeList:
    session = db.session()
    rows = session.scalars(
        select(UserNotice)
        .where(UserNotice.user_id == user.id)
        .order_by(UserNotice.created_at.desc(), UserNotice.id.desc())
        .limit(INBOX_SIZE)
    )
    unread = session.scalar(
        select(func.count()).where(UserNotice.user_id == user.id, UserNotice.read_at.is_(None))
    )
    return NoticeList(items=[notice_out(n) for n in rows], unread=int(unread or 0))


@operation("POST", "/api/v1/me/notices/{notice_id}/read", "标记消息已读", response=NoticeOut, write=True)
def read_notice(user: User, notice_id: int) -> NoticeOut:
    session = db.session()
    notice = session.get(UserNotice, notice_id)
    if notice is None or notice.user_id != user.id:
        raise NotFound("没有找到这条消息。")  # someone else's notice looks like no notice
    try:
        session.execute(
            update(UserNotice)
            .where(UserNotice.id == notice_id, UserNotice.read_at.is_(None))
            .values(read_at=datetime.now(UTC))
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    session.refresh(notice)
    return notice_out(notice)
