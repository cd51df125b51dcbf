"""The simulator's pushes against the real webhook over HTTP: the three modes, failures as users see them,
and the simulator's actions end to end (without a browser; tests/test_browser.py drives the page)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from bot import content
from bot.dialogue.context import Context
from bot.wechat.crypto import MessageCrypto
from bot.wechat.replies import FollowUp, Reply, Text
from handlers import HANDLERS
from sandbox import SandboxConfig, SandboxServer
from sandbox import pusher as push
from sandbox.simulator import UNAVAILABLE
from tests.conftest import AES_KEY, APPID, TOKEN, AppFactory
from tests.live_server import serving

GH = "gh_sandbox000001"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Linked:
    """The bot on a socket, calling its own sandbox, which pushes back to it."""

    app: Flask
    webhook: str
    sandbox: SandboxServer

    def act(self, openid: str, action: str, **body: Any) -> tuple[int, dict[str, Any]]:
        resp = self.sandbox.app.test_client().post(f"/sandbox/sim/{openid}/{action}", json=body)
        return resp.status_code, resp.get_json()

    def new_follower(self, nickname: str = "测试") -> tuple[str, dict[str, Any]]:
        resp = self.sandbox.app.test_client().post("/sandbox/sim/followers", json={"nickname": nickname})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        body = resp.get_json()
        return body["openid"], body


@pytest.fixture
def linked(make_app: AppFactory) -> Iterator[Linked]:
    port = _free_port()
    app = make_app(WECHAT_API_BASE=f"http://127.0.0.1:{port}", WECHAT_AES_KEY=AES_KEY)
    with serving(app) as base:
        config = SandboxConfig.from_settings(app.config["SETTINGS"], f"{base}/wechat")
        with SandboxServer(config, port=port) as sandbox:
            yield Linked(app, f"{base}/wechat", sandbox)


@pytest.fixture
def fake_webhook() -> Iterator[tuple[str, dict[str, Any]]]:
    """A webhook that answers whatever the test puts in `behaviour`."""
    behaviour: dict[str, Any] = {"status": 200, "body": "success", "delay": 0.0}

    def wsgi(environ: dict, start_response: Any) -> Any:
        Request(environ).get_data()
        time.sleep(behaviour["delay"])
        return Response(behaviour["body"], status=behaviour["status"])(environ, start_response)

    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/wechat", behaviour
    server.shutdown()
    thread.join(timeout=5)


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
def test_each_mode_reaches_the_webhook_and_opens_the_reply(linked: Linked, mode: push.Mode) -> None:
    pusher = push.WebhookPusher(linked.webhook, TOKEN, APPID, AES_KEY, GH, mode=mode)
    result = pusher.push(push.text_push("o_modes", GH, "你好"))
    assert result.error is None
    assert result.status == 200
    assert result.fields["Content"] == content.text("greeting")
    assert result.fields["ToUserName"] == "o_modes" and result.fields["FromUserName"] == GH
    assert result.elapsed_ms > 0


def test_default_mode_follows_the_key() -> None:
    assert push.WebhookPusher("http://x", TOKEN, APPID, AES_KEY, GH).mode == "safe"
    assert push.WebhookPusher("http://x", TOKEN, APPID, None, GH).mode == "plain"
    with pytest.raises(ValueError, match="EncodingAESKey"):
        push.WebhookPusher("http://x", TOKEN, APPID, None, GH, mode="safe")


def test_network_failures_become_results(fake_webhook: tuple[str, dict[str, Any]]) -> None:
    url, behaviour = fake_webhook
    refused = push.WebhookPusher(f"http://127.0.0.1:{_free_port()}/wechat", TOKEN, APPID, None, GH)
    result = refused.push(push.text_push("o_x", GH, "hi"))
    assert result.status == 0 and result.error and "cannot connect" in result.error

    behaviour.update(status=500, body="boom")
    result = push.WebhookPusher(url, TOKEN, APPID, None, GH).push(push.text_push("o_x", GH, "hi"))
    assert result.status == 500 and result.error == "HTTP 500: boom"

    behaviour.update(status=200, body="success", delay=0.5)
    slow = push.WebhookPusher(url, TOKEN, APPID, None, GH, timeout=0.1, attempts=2)
    result = slow.push(push.text_push("o_x", GH, "hi"))
    assert result.error and "timed out" in result.error
    assert result.attempts == 2


def test_forged_or_plain_replies_are_refused_in_safe_mode(fake_webhook: tuple[str, dict[str, Any]]) -> None:
    url, behaviour = fake_webhook
    pusher = push.WebhookPusher(url, TOKEN, APPID, AES_KEY, GH)
    inner = "<xml><ToUserName>o_x</ToUserName><FromUserName>gh</FromUserName><MsgType>text</MsgType></xml>"
    encrypted = MessageCrypto(AES_KEY, APPID).encrypt(inner)
    behaviour["body"] = (
        f"<xml><Encrypt>{encrypted}</Encrypt><MsgSignature>{'0' * 40}</MsgSignature>"
        "<TimeStamp>1</TimeStamp><Nonce>n</Nonce></xml>"
    )
    assert pusher.push(push.text_push("o_x", GH, "hi")).error == "reply MsgSignature does not verify"
    behaviour["body"] = inner
    assert "plaintext" in (pusher.push(push.text_push("o_x", GH, "hi")).error or "")


def test_popup_event_has_wechats_list_structure() -> None:
    from bot.wechat.messages import parse_message

    xml = push.subscribe_popup_push("o_x", GH, [("T1", "accept"), ("T2", "reject")])
    message = parse_message(xml)
    assert message.event == "subscribe_msg_popup_event"
    assert [(r.template_id, r.status, r.popup_scene) for r in message.subscribe_msg] == [
        ("T1", "accept", "2"),
        ("T2", "reject", "2"),
    ]


def test_follow_chat_and_unfollow_through_the_simulator(linked: Linked) -> None:
    openid, created = linked.new_follower("小王")
    assert created["ok"] and created["reply"]["payload"]["text"]["content"] == content.text("welcome")
    assert created["follower"]["window"] == {**created["follower"]["window"], "open": True, "kind": "event"}

    status, body = linked.act(openid, "text", content="你好")
    assert status == 200 and body["reply"]["channel"] == "passive"
    assert body["follower"]["window"]["kind"] == "message"

    status, body = linked.act(openid, "unfollow")
    assert status == 200 and body["follower"]["following"] is False
    status, body = linked.act(openid, "text", content="还在吗")
    assert status == 409 and not body["ok"]
    assert [e.kind for e in linked.sandbox.state.timeline(openid) if e.direction == "in"] == [
        "follow",
        "text",
        "unfollow",
    ]


def test_subscription_accept_grants_one_credit(linked: Linked) -> None:
    openid, _ = linked.new_follower()
    status, body = linked.act(openid, "subscribe-accept", template_id="tmpl_activity_reminder")
    assert status == 200 and body["ok"], body
    assert body["credits"] == {"tmpl_activity_reminder": 1}
    status, body = linked.act(openid, "subscribe-accept", template_id="tmpl_status")  # not a subscription
    assert status == 400


def test_a_follow_up_arrives_in_the_timeline_as_a_customer_service_message(
    linked: Linked, monkeypatch: pytest.MonkeyPatch
) -> None:
    def later(ctx: Context) -> Reply:
        return FollowUp(lambda: Text("稍后的答复"))

    monkeypatch.setitem(HANDLERS, "greeting", later)
    openid, _ = linked.new_follower()
    status, body = linked.act(openid, "text", content="你好")
    assert status == 200 and body["no_reply"] and body["reply"] is None
    sent = linked.sandbox.state.wait_for_sent(1, api="custom_send", openid=openid)
    assert [m.payload["text"]["content"] for m in sent] == ["稍后的答复"]
    custom = [e for e in linked.sandbox.state.timeline(openid) if e.channel == "custom"]
    assert [e.payload["text"]["content"] for e in custom] == ["稍后的答复"]


def test_webhook_down_shows_wechats_notice(linked: Linked) -> None:
    openid, _ = linked.new_follower()
    linked.sandbox.state.config.webhook_url = f"http://127.0.0.1:{_free_port()}/wechat"
    status, body = linked.act(openid, "click", key="HELP_12355", name="心理与法律帮助")
    assert status == 200 and not body["ok"]
    assert body["error"]["message"] == UNAVAILABLE
    assert "cannot connect" in body["error"]["detail"]
    # The user's tap still happened and still opened the window, as in WeChat.
    assert body["follower"]["window"]["open"]
