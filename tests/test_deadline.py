"""The reply budget: slow work answers `success` at once and follows up with a customer-service message."""

from __future__ import annotations

import time

import pytest

from bot.dialogue.context import Context
from bot.wechat.replies import FollowUp, Reply, Text
from handlers import HANDLERS
from sandbox import SandboxServer
from tests.conftest import AES_KEY, APPID, TOKEN, AppFactory
from tests.wechat_factory import WeChatPusher


def _pusher(make_app: AppFactory, sandbox: SandboxServer, **overrides: object) -> WeChatPusher:
    return WeChatPusher(make_app(**overrides).test_client(), TOKEN, APPID, AES_KEY, sandbox=sandbox)


def texts_sent(sandbox: SandboxServer, count: int) -> list[dict]:
    """Customer-service messages WeChat accepted (the typing indicator is a separate API)."""
    return [m.payload for m in sandbox.state.wait_for_sent(count, api="custom_send") if m.errcode == 0]


def test_handler_over_budget_answers_success_then_follows_up(
    make_app: AppFactory, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow(ctx: Context) -> Reply:
        time.sleep(0.8)
        return Text("查到了：本周六有读书会。")

    monkeypatch.setitem(HANDLERS, "greeting", slow)
    pusher = _pusher(make_app, sandbox, REPLY_BUDGET_SECONDS=0.2)
    started = time.monotonic()
    reply = pusher.text("你好", openid="o_slow", mode="safe")
    elapsed = time.monotonic() - started
    assert reply.is_success
    assert elapsed < 0.6
    sent = texts_sent(sandbox, 1)
    assert sent == [{"touser": "o_slow", "msgtype": "text", "text": {"content": "查到了：本周六有读书会。"}}]
    # While the answer was being prepared the user saw "对方正在输入".
    typing = sandbox.state.sent(api="typing", openid="o_slow")
    assert [(t.payload["command"], t.errcode) for t in typing] == [("Typing", 0)]


def test_retry_of_a_timed_out_message_gets_success_not_a_second_run(
    make_app: AppFactory, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def slow(ctx: Context) -> Reply:
        calls.append(1)
        time.sleep(0.5)
        return Text("稍后的答复")

    monkeypatch.setitem(HANDLERS, "greeting", slow)
    pusher = _pusher(make_app, sandbox, REPLY_BUDGET_SECONDS=0.1)
    assert pusher.text("你好", msg_id="777001").is_success
    assert pusher.text("你好", msg_id="777001").is_success
    texts_sent(sandbox, 1)
    time.sleep(0.1)
    assert len(calls) == 1
    assert len(texts_sent(sandbox, 1)) == 1


def test_followup_reply_answers_now_and_sends_the_result(
    make_app: AppFactory, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        HANDLERS, "greeting", lambda ctx: FollowUp(work=lambda: Text("结果来了"), ack=Text("正在为你查询…"))
    )
    pusher = _pusher(make_app, sandbox)
    assert pusher.text("你好", openid="o_f").text == "正在为你查询…"
    assert texts_sent(sandbox, 1)[0]["text"]["content"] == "结果来了"


def test_followup_that_fails_sends_an_apology(
    make_app: AppFactory, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> Reply:
        raise TimeoutError("content check timed out")

    monkeypatch.setitem(HANDLERS, "greeting", lambda ctx: FollowUp(work=broken))
    pusher = _pusher(make_app, sandbox)
    assert pusher.text("你好", openid="o_f2").is_success
    assert "抱歉" in texts_sent(sandbox, 1)[0]["text"]["content"]


def test_long_text_is_split_first_part_passive_rest_followed_up(
    make_app: AppFactory, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_text = "\n".join(f"第{i}条：社区青年汇周末活动报名进行中，欢迎参加。" for i in range(80))
    monkeypatch.setitem(HANDLERS, "greeting", lambda ctx: Text(long_text))
    pusher = _pusher(make_app, sandbox)
    reply = pusher.text("你好", openid="o_long", mode="safe")
    assert len(reply.text.encode()) <= 2048
    sent = texts_sent(sandbox, 1)
    time.sleep(0.2)
    pieces = [reply.text] + [m["text"]["content"] for m in texts_sent(sandbox, 2)]
    assert all(len(p.encode()) <= 2048 for p in pieces)
    assert "".join(pieces) == long_text
    assert sent[0]["touser"] == "o_long"
