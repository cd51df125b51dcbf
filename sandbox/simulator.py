"""The chat simulator: a WeChat-like page (`/`) and the actions a fake follower can take.

Every action does what WeChat does for a real user: record what the user did, open the customer-service
window when WeChat would, push the signed (and, with an EncodingAESKey, encrypted) XML to the webhook, and
show the passive reply, or the notice WeChat shows when the webhook fails.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import requests
from flask import Blueprint, Response, current_app, jsonify, render_template, request

from bot import content
from sandbox import pusher as push
from sandbox.faults import ANY, ENDPOINTS
from sandbox.pusher import PushResult, WebhookPusher
from sandbox.server import current_state
from sandbox.state import SandboxState

log = logging.getLogger(__name__)

bp = Blueprint(
    "simulator",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/sandbox/sim-static",
)

# What WeChat shows the user when the account's server does not give a valid answer.
UNAVAILABLE = "该公众号暂时无法提供服务，请稍后再试"
# Pushes whose answer the user never sees (VIEW, unsubscribe, subscription popups) fail silently for them.
UNSEEN_FAILURE = "推送到公众号服务器失败（用户看不到此提示）"
MAX_TEXT_CHARS = 2000  # one simulated message; longer pastes are cut rather than refused


def _pusher(state: SandboxState) -> WebhookPusher:
    config = state.config
    session = current_app.extensions.setdefault("sandbox_push_session", requests.Session())
    return WebhookPusher(
        config.webhook_url or "",
        config.webhook_token,
        config.oa_appid,
        config.webhook_aes_key,
        config.oa_original_id,
        session=session,
    )


def _fail(status: int, message: str) -> tuple[Response, int]:
    return jsonify(ok=False, error={"message": message, "detail": None}), status


def menu_source(state: SandboxState) -> tuple[list[dict[str, Any]], str]:
    """The menu the bot created through the API, else content/menu.toml (not yet synced)."""
    if state.menu and state.menu.get("button"):
        return list(state.menu["button"]), "api"
    try:
        return list(content.menu().get("button", [])), "content"
    except content.ContentError as exc:
        log.warning("content/menu.toml cannot be read: %s", exc)
        return [], "none"


@bp.get("/")
def page() -> str:
    state = current_state()
    followers = state.followers()
    wanted = request.args.get("openid")
    selected = next((f for f in followers if f.openid == wanted), followers[0] if followers else None)
    buttons, source = menu_source(state)
    templates = state.templates()
    return render_template(
        "simulator/index.html",
        followers=followers,
        selected=selected,
        follower_data=selected.to_dict(state.now()) if selected else None,
        buttons=buttons,
        menu_source=source,
        subscribe_templates={k: t for k, t in templates.items() if t.get("kind") == "subscribe"},
        templates=templates,
        endpoints=[ANY, *ENDPOINTS],
        webhook_url=state.config.webhook_url,
        mode=_pusher(state).mode if state.config.webhook_url else None,
    )


@bp.post("/sandbox/sim/followers")
def create_follower() -> tuple[Response, int]:
    """A new fake follower: they follow the account, so the webhook gets their `subscribe`."""
    state = current_state()
    body = request.get_json(silent=True) or {}
    nickname = str(body.get("nickname") or "").strip()[:20] or None
    follower = state.add_follower(f"o_sim_{secrets.token_hex(6)}", nickname)
    state.record_inbound(follower.openid, "follow", {})
    state.user_interacted(follower.openid, "event")
    xml = push.subscribe_push(follower.openid, state.config.oa_original_id)
    return _answer(state, follower.openid, xml, passive=True, status=201)


def _follower_or_error(
    state: SandboxState, openid: str, following: bool | None
) -> tuple[Response, int] | None:
    follower = state.follower(openid)
    if follower is None:
        return _fail(404, "没有这个关注者")
    if following is True and not follower.following:
        return _fail(409, "已取消关注该公众号，重新关注后才能发消息")
    if following is False and follower.following:
        return _fail(409, "已经关注了该公众号")
    return None


@bp.post("/sandbox/sim/<openid>/text")
def send_text(openid: str) -> tuple[Response, int]:
    state = current_state()
    refused = _follower_or_error(state, openid, following=True)
    if refused:
        return refused
    text = str((request.get_json(silent=True) or {}).get("content") or "")
    if not text.strip():
        return _fail(400, "不能发送空白消息")
    text = text[:MAX_TEXT_CHARS]
    state.record_inbound(openid, "text", {"content": text})
    state.user_interacted(openid, "message")
    return _answer(state, openid, push.text_push(openid, state.config.oa_original_id, text), passive=True)


@bp.post("/sandbox/sim/<openid>/click")
def click(openid: str) -> tuple[Response, int]:
    state = current_state()
    refused = _follower_or_error(state, openid, following=True)
    if refused:
        return refused
    body = request.get_json(silent=True) or {}
    key = str(body.get("key") or "")
    if not key:
        return _fail(400, "菜单按钮缺少 key")
    state.record_inbound(openid, "click", {"key": key, "name": str(body.get("name") or key)})
    state.user_interacted(openid, "event")
    return _answer(state, openid, push.click_push(openid, state.config.oa_original_id, key), passive=True)


@bp.post("/sandbox/sim/<openid>/view")
def view(openid: str) -> tuple[Response, int]:
    """A VIEW button opens a web page; WeChat pushes the event but it opens no customer-service window."""
    state = current_state()
    refused = _follower_or_error(state, openid, following=True)
    if refused:
        return refused
    body = request.get_json(silent=True) or {}
    url = str(body.get("url") or "")
    if not url:
        return _fail(400, "菜单按钮缺少 url")
    state.record_inbound(openid, "view", {"url": url, "name": str(body.get("name") or url)})
    xml = push.view_push(openid, state.config.oa_original_id, url)
    # WeChat shows the page, not a chat reply, for VIEW: whatever the webhook answers stays unseen.
    return _answer(state, openid, xml, passive=False)


@bp.post("/sandbox/sim/<openid>/follow")
def follow(openid: str) -> tuple[Response, int]:
    state = current_state()
    refused = _follower_or_error(state, openid, following=False)
    if refused:
        return refused
    scene = str((request.get_json(silent=True) or {}).get("scene") or "").strip() or None
    if scene:
        state.follow(openid, subscribe_scene="ADD_SCENE_QR_CODE", qr_scene_str=scene)
    else:
        state.follow(openid)
    state.record_inbound(openid, "follow", {"scene": scene} if scene else {})
    state.user_interacted(openid, "event")
    xml = push.subscribe_push(openid, state.config.oa_original_id, scene)
    return _answer(state, openid, xml, passive=True)


@bp.post("/sandbox/sim/<openid>/unfollow")
def unfollow(openid: str) -> tuple[Response, int]:
    state = current_state()
    refused = _follower_or_error(state, openid, following=True)
    if refused:
        return refused
    state.unfollow(openid)
    state.record_inbound(openid, "unfollow", {})
    # The user has left: WeChat delivers nothing the webhook answers to `unsubscribe`.
    return _answer(state, openid, push.unsubscribe_push(openid, state.config.oa_original_id), passive=False)


@bp.post("/sandbox/sim/<openid>/subscribe-accept")
def subscribe_accept(openid: str) -> tuple[Response, int]:
    """The user taps 允许 on a one-time subscription popup: one credit, and `subscribe_msg_popup_event`."""
    state = current_state()
    refused = _follower_or_error(state, openid, following=None)
    if refused:
        return refused
    template_id = str((request.get_json(silent=True) or {}).get("template_id") or "")
    template = state.template(template_id)
    if template is None or template.get("kind") != "subscribe":
        return _fail(400, "请选择一个订阅消息模板")
    state.grant_credit(openid, template_id)
    title = str(template.get("title") or template_id)
    state.record_inbound(openid, "subscribe_accept", {"template_id": template_id, "title": title})
    xml = push.subscribe_popup_push(openid, state.config.oa_original_id, [(template_id, "accept")])
    return _answer(state, openid, xml, passive=False)


def passive_entry(result: PushResult) -> tuple[str, dict[str, Any]]:
    """The passive reply as (kind, payload), shaped like a customer-service send so one renderer fits."""
    kind = result.fields.get("MsgType", "")
    payload: dict[str, Any] = {"msgtype": kind, "elapsed_ms": result.elapsed_ms}
    if kind == "text":
        payload["text"] = {"content": result.fields.get("Content", "")}
    elif kind == "news":
        payload["news"] = {
            "articles": [
                {
                    "title": a.get("Title", ""),
                    "description": a.get("Description", ""),
                    "url": a.get("Url", ""),
                    "picurl": a.get("PicUrl", ""),
                }
                for a in result.articles
            ]
        }
    return kind, payload


def reply_problem(result: PushResult, openid: str, original_id: str) -> str | None:
    """What WeChat would refuse in a passive reply that opened fine (it then shows UNAVAILABLE)."""
    fields = result.fields
    if not fields.get("MsgType"):
        return "reply has no MsgType"
    if fields.get("ToUserName") != openid:
        return f"reply ToUserName {fields.get('ToUserName')!r} is not the sender {openid!r}"
    if fields.get("FromUserName") != original_id:
        return f"reply FromUserName {fields.get('FromUserName')!r} is not the account {original_id!r}"
    if fields["MsgType"] == "news" and len(result.articles) > 1:
        return "passive news replies may carry one article (WeChat: 45008)"
    return None


def _answer(
    state: SandboxState, openid: str, xml: str, *, passive: bool, status: int = 200
) -> tuple[Response, int]:
    config = state.config
    if not config.webhook_url:
        result = PushResult(0, "", error="the sandbox has no webhook URL configured")
    else:
        result = _pusher(state).push(xml)
    if result.error is None and not result.is_success:
        result.error = reply_problem(result, openid, config.oa_original_id)
    entry = None
    if passive and result.error is None and not result.is_success:
        kind, payload = passive_entry(result)
        entry = state.record_passive(openid, kind, payload).to_dict()
    follower = state.follower(openid)
    body: dict[str, Any] = {
        "ok": result.error is None,
        "openid": openid,
        "status": result.status,
        "elapsed_ms": result.elapsed_ms,
        "no_reply": passive and result.error is None and result.is_success,
        "reply": entry,
        "follower": follower.to_dict(state.now()) if follower else None,
        "credits": state.credits(openid),
        "error": {"message": UNAVAILABLE if passive else UNSEEN_FAILURE, "detail": result.error}
        if result.error
        else None,
    }
    return jsonify(body), status
