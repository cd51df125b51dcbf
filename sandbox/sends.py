"""The send endpoints' rules: who may receive what, through which channel, and what it costs them.

Each handler gets the state, the caller's appid (token already checked) and the JSON body, and returns
WeChat's answer. Accepted sends are recorded here (the record and the follower's timeline); refusals are
recorded by the endpoint wrapper in `wechat_api`, which sees every outcome.
"""

from __future__ import annotations

from typing import Any

from bot.wechat import values
from sandbox import checks
from sandbox.errcodes import error, ok
from sandbox.state import SandboxState

MINIPROGRAM_STATES = ("developer", "trial", "formal")
LANGS = ("zh_CN", "en_US", "zh_HK", "zh_TW")
Answer = dict[str, Any]
CHANNELS = {
    "custom_send": "custom",
    "template_send": "template",
    "bizsend": "bizsend",
    "subscribe_send": "subscribe",
}


def _openid(body: dict[str, Any]) -> str | None:
    touser = body.get("touser")
    return touser if isinstance(touser, str) and touser else None


def _flat_data(data: object) -> dict[str, object] | None:
    """{"thing1": {"value": "…"}} → {"thing1": "…"}; an entry without a value stays None (47003 later)."""
    if not isinstance(data, dict):
        return None
    return {str(k): (v.get("value") if isinstance(v, dict) else None) for k, v in data.items()}


def _template(state: SandboxState, template_id: object, kind: str) -> dict[str, Any] | None:
    found = state.template(template_id) if isinstance(template_id, str) else None
    return found if found and found.get("kind") == kind else None


def _accept(state: SandboxState, api: str, appid: str, openid: str, body: dict[str, Any], kind: str) -> int:
    channel = CHANNELS[api]
    msgid = state.next_msgid()
    state.record_sent(api, appid, openid, body, 0, msgid)
    state.record_outbound(openid, channel, kind, body)
    return msgid


def custom_send(state: SandboxState, appid: str, body: dict[str, Any]) -> Answer:
    openid = _openid(body)
    if openid is None:
        return error(40003, "touser missing")
    code, hint = checks.custom_message(body)
    if code:
        return error(code, hint)
    with state.lock:
        follower = state.follower(openid)
        if follower is None:
            return error(40003)
        if not follower.following:
            return error(45015, "user unsubscribed")
        code = state.use_window(openid)
        if code:
            return error(code)
        _accept(state, "custom_send", appid, openid, body, str(body["msgtype"]))
    return ok()


def typing(state: SandboxState, appid: str, body: dict[str, Any]) -> Answer:
    """Recorded as a call (api "typing"), not put on the timeline: nothing reaches the chat."""
    openid = _openid(body)
    if openid is None:
        return error(40003, "touser missing")
    if body.get("command") not in ("Typing", "CancelTyping"):
        return error(47003, "command must be Typing or CancelTyping")
    code = state.may_type(openid)
    if code:
        return error(
            code, "typing only within 30 s of the user's last interaction" if code == 45015 else None
        )
    state.record_sent("typing", appid, openid, body, 0)
    return ok()


def template_send(state: SandboxState, appid: str, body: dict[str, Any]) -> Answer:
    openid = _openid(body)
    if openid is None:
        return error(40003, "touser missing")
    for name in ("url", "client_msg_id"):
        if name in body and not isinstance(body[name], str):
            return error(47001, f"{name} must be a string")
    link = body.get("miniprogram")
    if link is not None and not (isinstance(link, dict) and isinstance(link.get("appid"), str)):
        return error(47001, "miniprogram needs appid")
    with state.lock:
        follower = state.follower(openid)
        if follower is None:
            return error(40003)
        if not follower.following:
            return error(43004)
        template = _template(state, body.get("template_id"), "template")
        if template is None:
            return error(40037)
        data = _flat_data(body.get("data"))
        if data is None:
            return error(47001, "data must be an object")
        # Template messages show a missing keyword as blank, so only the values present are checked.
        problem = values.check_data(template["fields"], data, required=False)
        if problem:
            return error(47003, problem)
        client_msg_id = body.get("client_msg_id")
        if client_msg_id:
            key = (appid, openid, str(client_msg_id))
            seen = state.client_msg(key)
            if seen is not None:
                return ok(msgid=seen)  # WeChat delivers once and answers the retry as a success
        msgid = _accept(state, "template_send", appid, openid, body, "template")
        if client_msg_id:
            state.client_msg((appid, openid, str(client_msg_id)), msgid)
    return ok(msgid=msgid)


def _subscription(state: SandboxState, api: str, appid: str, body: dict[str, Any]) -> Answer:
    """bizsend (Official Account) and subscribe/send (miniprogram): one credit per send."""
    openid = _openid(body)
    if openid is None:
        return error(40003, "touser missing")
    if "page" in body and not isinstance(body["page"], str):
        return error(47001, "page must be a string")
    if api == "subscribe_send":
        if body.get("miniprogram_state", "formal") not in MINIPROGRAM_STATES:
            return error(47003, "miniprogram_state invalid")
        if body.get("lang", "zh_CN") not in LANGS:
            return error(47003, "lang invalid")
    with state.lock:
        # Miniprogram openids are not the account's followers; bizsend goes to followers only.
        if api == "bizsend" and state.follower(openid) is None:
            return error(40003)
        template = _template(state, body.get("template_id"), "subscribe")
        if template is None:
            return error(40037)
        data = _flat_data(body.get("data"))
        if data is None:
            return error(47001, "data must be an object")
        if not state.has_credit(openid, body["template_id"]):
            return error(43101)
        problem = values.check_data(template["fields"], data)
        if problem:
            return error(47003, problem)  # a refused send keeps the credit
        state.take_credit(openid, body["template_id"])
        msgid = _accept(state, api, appid, openid, body, "subscribe")
    return ok(msgid=msgid)


def bizsend(state: SandboxState, appid: str, body: dict[str, Any]) -> Answer:
    return _subscription(state, "bizsend", appid, body)


def subscribe_send(state: SandboxState, appid: str, body: dict[str, Any]) -> Answer:
    return _subscription(state, "subscribe_send", appid, body)
