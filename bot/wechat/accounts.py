"""The calls the product makes, for the Official Account and for the miniprogram (different apps, tokens)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from redis.exceptions import RedisError

from bot.wechat.client import WeChatAPI
from bot.wechat.errors import ErrorKind, SendResult
from bot.wechat.limits import CustomerServiceWindow

log = logging.getLogger(__name__)

CUSTOM_SEND = "/cgi-bin/message/custom/send"
MiniprogramState = Literal["developer", "trial", "formal"]
Lang = Literal["zh_CN", "en_US", "zh_HK", "zh_TW"]


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    description: str = ""
    url: str = ""
    picurl: str = ""


@dataclass(frozen=True, slots=True)
class MiniprogramLink:
    appid: str
    pagepath: str


@dataclass(frozen=True, slots=True)
class UserInfo:
    openid: str
    subscribed: bool
    subscribe_time: int | None = None
    unionid: str | None = None
    language: str | None = None
    subscribe_scene: str | None = None
    qr_scene_str: str | None = None


@dataclass(frozen=True, slots=True)
class Session:
    """The result of `jscode2session`. `session_key` must never leave the server."""

    openid: str
    session_key: str
    unionid: str | None = None


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    phone_number: str
    pure_phone_number: str
    country_code: str


@dataclass(frozen=True, slots=True)
class SecurityVerdict:
    suggest: Literal["pass", "review", "risky"]
    label: int
    trace_id: str | None = None


def template_data(values: Mapping[str, str]) -> dict[str, dict[str, str]]:
    return {key: {"value": value} for key, value in values.items()}


class OfficialAccountClient(WeChatAPI):
    def __init__(self, *args: Any, window: CustomerServiceWindow, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.window = window

    # -- customer-service messages: only inside the window the user opened ----------------------------
    def send_text(self, openid: str, content: str) -> SendResult:
        return self._custom(openid, "text", {"content": content})

    def send_news(self, openid: str, article: Article) -> SendResult:
        a = {"title": article.title, "description": article.description, "url": article.url}
        return self._custom(openid, "news", {"articles": [{**a, "picurl": article.picurl}]})

    def send_miniprogram_page(
        self, openid: str, title: str, appid: str, pagepath: str, thumb_media_id: str
    ) -> SendResult:
        body = {"title": title, "appid": appid, "pagepath": pagepath, "thumb_media_id": thumb_media_id}
        return self._custom(openid, "miniprogrampage", body)

    def typing(self, openid: str, on: bool = True) -> SendResult:
        payload = {"touser": openid, "command": "Typing" if on else "CancelTyping"}
        return self.call("typing", "/cgi-bin/message/custom/typing", payload)

    def _custom(self, openid: str, msgtype: str, body: dict[str, Any]) -> SendResult:
        try:
            allowed = self.window.take(openid)
        except RedisError as exc:
            log.error("customer-service window unknown (%s); leaving it to WeChat", exc)
            allowed, tracked = True, False
        else:
            tracked = True
        if not allowed:
            return SendResult(
                "custom_send", ErrorKind.RECIPIENT, 45015, "customer-service window closed", local=True
            )
        payload = {"touser": openid, "msgtype": msgtype, msgtype: body}
        result = self.call("custom_send", CUSTOM_SEND, payload, is_send=True)
        if tracked:
            self._settle_window(openid, result)
        return result

    def _settle_window(self, openid: str, result: SendResult) -> None:
        try:
            if result.errcode in (45015, 45047, 43004):
                self.window.close(openid)  # WeChat knows better than our count
            elif not result.ok and not result.maybe_delivered:
                self.window.give_back(openid)
        except RedisError as exc:
            log.error("could not update the customer-service window: %s", exc)

    # -- notices outside the window -------------------------------------------------------------------
    def send_template(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        url: str | None = None,
        miniprogram: MiniprogramLink | None = None,
        client_msg_id: str | None = None,
    ) -> SendResult:
        payload: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": template_data(data)}
        if url:
            payload["url"] = url
        if miniprogram:
            payload["miniprogram"] = {"appid": miniprogram.appid, "pagepath": miniprogram.pagepath}
        if client_msg_id:
            payload["client_msg_id"] = client_msg_id  # WeChat's own dedup of a resent notice
        return self.call("template_send", "/cgi-bin/message/template/send", payload, is_send=True)

    def send_subscription_notice(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        page: str | None = None,
        miniprogram: MiniprogramLink | None = None,
    ) -> SendResult:
        """The Official Account's subscription notice (`bizsend`); spends one of the user's credits."""
        payload: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": template_data(data)}
        if page:
            payload["page"] = page
        if miniprogram:
            payload["miniprogram"] = {"appid": miniprogram.appid, "pagepath": miniprogram.pagepath}
        return self.call("bizsend", "/cgi-bin/message/subscribe/bizsend", payload, is_send=True)

    # -- account --------------------------------------------------------------------------------------
    def create_menu(self, menu: dict[str, Any]) -> None:
        self.query("menu_create", "/cgi-bin/menu/create", menu)

    def get_menu(self) -> dict[str, Any]:
        return self.query("menu_get", "/cgi-bin/menu/get", method="GET")

    def user_info(self, openid: str) -> UserInfo:
        data = self.query(
            "user_info", "/cgi-bin/user/info", method="GET", params={"openid": openid, "lang": "zh_CN"}
        )
        return UserInfo(
            openid=str(data.get("openid", openid)),
            subscribed=bool(data.get("subscribe")),
            subscribe_time=data.get("subscribe_time"),
            unionid=data.get("unionid"),
            language=data.get("language"),
            subscribe_scene=data.get("subscribe_scene"),
            qr_scene_str=data.get("qr_scene_str") or None,
        )


class MiniprogramClient(WeChatAPI):
    def code_to_session(self, code: str) -> Session:
        params = {
            "appid": self.appid,
            "secret": self.secret,
            "js_code": code,
            "grant_type": "authorization_code",
        }
        data = self.query(
            "jscode2session", "/sns/jscode2session", method="GET", params=params, with_token=False
        )
        return Session(str(data["openid"]), str(data["session_key"]), data.get("unionid"))

    def phone_number(self, code: str) -> PhoneNumber:
        info = self.query("getuserphonenumber", "/wxa/business/getuserphonenumber", {"code": code})[
            "phone_info"
        ]
        return PhoneNumber(
            str(info["phoneNumber"]), str(info["purePhoneNumber"]), str(info.get("countryCode", ""))
        )

    def msg_sec_check(self, openid: str, content: str, scene: int = 2) -> SecurityVerdict:
        """Scene 1 profile, 2 comment, 3 forum, 4 social log. The user must have opened the app within 2 h."""
        payload = {"content": content, "version": 2, "scene": scene, "openid": openid}
        data = self.query("msg_sec_check", "/wxa/msg_sec_check", payload)
        result = data.get("result") or {}
        return SecurityVerdict(
            result.get("suggest", "review"), int(result.get("label", 0)), data.get("trace_id")
        )

    def send_subscribe_message(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        page: str | None = None,
        state: MiniprogramState = "formal",
        lang: Lang = "zh_CN",
    ) -> SendResult:
        payload: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": template_data(data),
            "miniprogram_state": state,
            "lang": lang,
        }
        if page:
            payload["page"] = page
        return self.call("subscribe_send", "/cgi-bin/message/subscribe/send", payload, is_send=True)
