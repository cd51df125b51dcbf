"""`POST /api/v1/auth/login` and `/logout`: WeChat's login code in, our own opaque session token out."""

from __future__ import annotations

import logging

from flask import current_app, g

from bot.extensions import db
from bot.wechat.errors import ErrorKind, WeChatAPIError
from miniprogram_api.errors import ApiError
from miniprogram_api.present import user_out
from miniprogram_api.registry import operation
from miniprogram_api.schemas import LoginIn, LoginOut
from services import sessions, users
from services.models import User

log = logging.getLogger(__name__)


@operation(
    "POST",
    "/api/v1/auth/login",
    "用 wx.login 的 code 登录，换取会话令牌",
    body=LoginIn,
    response=LoginOut,
    auth=False,
    login=True,
    errors=(503,),
)
def login(body: LoginIn) -> LoginOut:
    client = current_app.extensions.get("miniprogram_client")
    if client is None:
        raise ApiError(503, "miniprogram_not_configured", "小程序登录暂未开通，请稍后再试")
    try:
        wx = client.code_to_session(
            body.code
        )  # the session_key stays in this frame: never stored, never logged
    except WeChatAPIError as exc:
        log.info("jscode2session refused: %s %s", exc.errcode, exc.kind)
        if exc.kind is ErrorKind.REJECTED:
            raise ApiError(400, "invalid_code", "登录凭证无效或已过期，请重新登录") from None
        raise ApiError(503, "wechat_unavailable", "微信登录服务繁忙，请稍后再试") from None
    user = users.get_or_create_mp_user(db.session(), wx.openid, wx.unionid)
    issued = sessions.create_session(
        db.session(), user, current_app.config["SETTINGS"].API_SESSION_TTL_SECONDS
    )
    return LoginOut(token=issued.token, expires_at=issued.expires_at, user=user_out(user))


@operation("POST", "/api/v1/auth/logout", "退出登录（令牌立即失效）", status=204, write=True)
def logout(user: User) -> None:
    sessions.revoke(db.session(), g.api_token)
