"""WeChat's own endpoints (`/cgi-bin/…`, `/sns/…`, `/wxa/…`) with WeChat's shapes and error codes.

Every endpoint runs the same gauntlet first, in WeChat's order as far as it shows: count the call, take its
fault (latency, drop, error code), check the access_token and the app's kind (48001 for the other kind's
API), parse the JSON body (44002 empty, 47001 not a JSON object). Calls to send endpoints are all recorded,
refusals included; a dropped one with errcode None (an injected errcode 0 is recorded as accepted but
reaches no timeline: WeChat said ok and delivered nothing).
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from sandbox import checks, sends
from sandbox.config import AppKind
from sandbox.errcodes import error, ok
from sandbox.faults import delay, drop_connection
from sandbox.server import current_state, wx_json
from sandbox.state import SandboxState

bp = Blueprint("wechat_api", __name__)

Handler = Callable[[SandboxState, str, dict[str, Any]], dict[str, Any]]
SEND_APIS = ("custom_send", "typing", "template_send", "bizsend", "subscribe_send")


def _parse_body() -> tuple[dict[str, Any] | None, int]:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None, 44002
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None, 47001
    return (data, 0) if isinstance(data, dict) else (None, 47001)


def _record_call(state: SandboxState, api: str, token: str, errcode: int | None) -> None:
    body, _ = _parse_body()
    payload = body or {}
    touser = payload.get("touser")
    openid = touser if isinstance(touser, str) else ""
    state.record_sent(api, state.token_appid(token), openid, payload, errcode)


def _answer(
    state: SandboxState, fn: Handler, kind: AppKind | None, has_body: bool, token: str
) -> dict[str, Any]:
    appid = ""
    if kind is not None:
        code, appid = state.check_token(token)
        if code:
            return error(code)
        if state.app_kind(appid) != kind:
            return error(48001, f"this API is for {'miniprograms' if kind == 'mp' else 'Official Accounts'}")
    if has_body:
        body, code = _parse_body()
        if body is None:
            return error(code)
    else:
        body = request.args.to_dict()
    return fn(state, appid, body)


def endpoint(name: str, rule: str, method: str, kind: AppKind | None = None) -> Callable[[Handler], Handler]:
    """Register `fn` as WeChat endpoint `name`; `kind` "oa"/"mp" means an access_token of that app kind."""

    def register(fn: Handler) -> Handler:
        is_send = name in SEND_APIS

        def view() -> Response:
            state = current_state()
            state.count_call(name)
            token = request.args.get("access_token", "")
            fault = state.take_fault(name)
            if fault is not None:
                delay(fault)
                if fault.drop or fault.errcode is not None:
                    if is_send:
                        _record_call(state, name, token, None if fault.drop else fault.errcode)
                    return drop_connection() if fault.drop else wx_json(error(fault.errcode or 0))
            answer = _answer(state, fn, kind, method == "POST", token)
            if is_send and answer.get("errcode"):
                _record_call(state, name, token, int(answer["errcode"]))
            return wx_json(answer)

        bp.add_url_rule(rule, name, view, methods=[method])
        return fn

    return register


# -- access_token ----------------------------------------------------------------------------------------
def _issue(state: SandboxState, params: dict[str, Any], stable: bool) -> dict[str, Any]:
    appid, secret = params.get("appid"), params.get("secret")
    if not isinstance(appid, str) or not appid:
        return error(41002)
    if not isinstance(secret, str) or not secret:
        return error(41004)
    if params.get("grant_type") != "client_credential":
        return error(40002)
    force = params.get("force_refresh", False)
    if not isinstance(force, bool):
        return error(47001, "force_refresh must be true or false")
    code = state.check_secret(appid, secret)
    if code:
        return error(code)
    token = state.fetch_token(appid, stable=stable, force_refresh=force)
    return {"access_token": token.token, "expires_in": max(0, round(token.expires_at - state.now()))}


@endpoint("token", "/cgi-bin/token", "GET")
def token(state: SandboxState, _appid: str, params: dict[str, Any]) -> dict[str, Any]:
    params.pop("force_refresh", None)  # not a parameter of this API
    return _issue(state, params, stable=False)


@endpoint("stable_token", "/cgi-bin/stable_token", "POST")
def stable_token(state: SandboxState, _appid: str, body: dict[str, Any]) -> dict[str, Any]:
    return _issue(state, body, stable=True)


# -- sends -----------------------------------------------------------------------------------------------
endpoint("custom_send", "/cgi-bin/message/custom/send", "POST", "oa")(sends.custom_send)
endpoint("typing", "/cgi-bin/message/custom/typing", "POST", "oa")(sends.typing)
endpoint("template_send", "/cgi-bin/message/template/send", "POST", "oa")(sends.template_send)
endpoint("bizsend", "/cgi-bin/message/subscribe/bizsend", "POST", "oa")(sends.bizsend)
endpoint("subscribe_send", "/cgi-bin/message/subscribe/send", "POST", "mp")(sends.subscribe_send)


# -- Official Account ------------------------------------------------------------------------------------
@endpoint("menu_create", "/cgi-bin/menu/create", "POST", "oa")
def menu_create(state: SandboxState, _appid: str, body: dict[str, Any]) -> dict[str, Any]:
    code, hint = checks.menu(body)
    if code:
        return error(code, hint)
    with state.lock:
        state.menu = json.loads(json.dumps({"button": body["button"]}))
    return ok()


@endpoint("menu_get", "/cgi-bin/menu/get", "GET", "oa")
def menu_get(state: SandboxState, _appid: str, _params: dict[str, Any]) -> dict[str, Any]:
    with state.lock:
        menu = state.menu
    if menu is None:
        return error(46003)
    return {"menu": {**menu, "menuid": 100000001}}


@endpoint("user_info", "/cgi-bin/user/info", "GET", "oa")
def user_info(state: SandboxState, _appid: str, params: dict[str, Any]) -> dict[str, Any]:
    openid = params.get("openid")
    if not openid:
        return error(41009)
    follower = state.follower(openid)
    if follower is None:
        return error(40003)
    if not follower.following:
        return {"subscribe": 0, "openid": openid}
    # Since 2021 WeChat no longer returns nickname or avatar here.
    info: dict[str, Any] = {
        "subscribe": 1,
        "openid": openid,
        "language": follower.language,
        "subscribe_time": follower.subscribe_time,
        "remark": "",
        "groupid": 0,
        "tagid_list": [],
        "subscribe_scene": follower.subscribe_scene,
        "qr_scene": 0,
        "qr_scene_str": follower.qr_scene_str,
    }
    if follower.unionid:
        info["unionid"] = follower.unionid
    return info


# -- miniprogram -----------------------------------------------------------------------------------------
@endpoint("jscode2session", "/sns/jscode2session", "GET")
def jscode2session(state: SandboxState, _appid: str, params: dict[str, Any]) -> dict[str, Any]:
    appid, secret, code = params.get("appid"), params.get("secret"), params.get("js_code")
    if not appid:
        return error(41002)
    if not secret:
        return error(41004)
    if not code:
        return error(41008)
    if params.get("grant_type") != "authorization_code":
        return error(40002)
    if state.app_kind(appid) != "mp":
        return error(40013, "not a miniprogram appid" if state.app_kind(appid) else None)
    refused = state.check_secret(appid, secret)
    if refused:
        return error(refused)
    unionid: str | None = None
    if code.startswith("test:"):
        openid = code.removeprefix("test:")
        if not openid:
            return error(40029)
    else:
        refused, login = state.redeem_login_code(appid, code)
        if login is None:
            return error(refused)
        openid, unionid = login.openid, login.unionid
    session: dict[str, Any] = {
        "session_key": base64.b64encode(secrets.token_bytes(16)).decode(),
        "openid": openid,
    }
    if unionid:
        session["unionid"] = unionid
    return session


@endpoint("getuserphonenumber", "/wxa/business/getuserphonenumber", "POST", "mp")
def getuserphonenumber(state: SandboxState, appid: str, body: dict[str, Any]) -> dict[str, Any]:
    code = body.get("code")
    if not isinstance(code, str) or not code:
        return error(41008)
    phone = state.redeem_phone_code(code)
    if phone is None:
        return error(40029)
    country, pure = "86", phone
    if phone.startswith("+"):
        country, _, pure = phone[1:].partition(" ")
    info = {
        "phoneNumber": phone,
        "purePhoneNumber": pure,
        "countryCode": country,
        "watermark": {"timestamp": int(state.now()), "appid": appid},
    }
    return ok(phone_info=info)


@endpoint("msg_sec_check", "/wxa/msg_sec_check", "POST", "mp")
def msg_sec_check(state: SandboxState, _appid: str, body: dict[str, Any]) -> dict[str, Any]:
    content, openid, scene = body.get("content"), body.get("openid"), body.get("scene")
    if body.get("version") != 2:
        return error(47001, "version must be 2")
    if not isinstance(openid, str) or not openid:
        return error(40003, "openid missing")
    if isinstance(scene, bool) or scene not in (1, 2, 3, 4):
        return error(47001, "scene must be 1, 2, 3 or 4")
    if not isinstance(content, str) or not content:
        return error(47001, "content missing")
    if len(content) > checks.SEC_CHECK_LIMIT_CHARS:
        return error(47001, f"content exceeds {checks.SEC_CHECK_LIMIT_CHARS} characters")
    suggest, label, keyword = checks.sec_check(content, state.config.sec_check_keywords)
    detail: list[dict[str, Any]] = [
        {"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label, "prob": 90}
    ]
    if keyword:
        detail.append(
            {
                "strategy": "keyword",
                "errcode": 0,
                "suggest": suggest,
                "label": label,
                "level": 20,
                "keyword": keyword,
            }
        )
    return ok(result={"suggest": suggest, "label": label}, detail=detail, trace_id=secrets.token_hex(12))
