"""WeChat retries: each message or event is handled once, and every try gets the same answer."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from bot.dialogue.context import Context
from bot.wechat.replies import Reply, Text
from bot.wechat.signature import sign
from handlers import HANDLERS
from tests.conftest import AES_KEY, APPID, TOKEN, AppFactory
from tests.live_server import serving
from tests.wechat_factory import WeChatPusher, event_xml, next_msg_id, text_xml


class CountingHandler:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay
        self._lock = threading.Lock()

    def __call__(self, ctx: Context) -> Reply:
        with self._lock:
            self.calls += 1
            n = self.calls
        time.sleep(self.delay)
        return Text(f"第 {n} 次处理：{ctx.text}")


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingHandler:
    handler = CountingHandler()
    monkeypatch.setitem(HANDLERS, "greeting", handler)
    return handler


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_retry_of_a_message_gets_the_same_answer_without_rerunning(
    wechat: WeChatPusher, counting: CountingHandler, mode: str
) -> None:
    msg_id = next_msg_id()
    first = wechat.push(text_xml("你好", msg_id=msg_id), mode=mode)
    second = wechat.push(text_xml("你好", msg_id=msg_id), mode=mode)
    assert counting.calls == 1
    assert first.text == second.text == "第 1 次处理：你好"


def test_different_msg_ids_are_both_handled(wechat: WeChatPusher, counting: CountingHandler) -> None:
    wechat.text("你好")
    wechat.text("你好")
    assert counting.calls == 2


def test_events_dedup_on_user_time_event_and_key(
    wechat: WeChatPusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = CountingHandler()
    monkeypatch.setitem(HANDLERS, "greeting", handler)
    now = int(time.time())
    click = event_xml("CLICK", openid="o_ev", create_time=now, EventKey="GREETING")
    assert wechat.push(click).text == wechat.push(click).text
    assert handler.calls == 1
    # Same second, another key: a different event. Another user, same everything: different too.
    wechat.push(event_xml("CLICK", openid="o_ev", create_time=now, EventKey="OTHER"))
    wechat.push(event_xml("CLICK", openid="o_ev2", create_time=now, EventKey="GREETING"))
    assert handler.calls == 2


def test_three_concurrent_tries_run_the_handler_once_and_share_one_answer(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = CountingHandler(delay=0.5)
    monkeypatch.setitem(HANDLERS, "greeting", handler)
    app = make_app()
    msg_id = next_msg_id()
    xml = text_xml("你好", openid="o_concurrent", msg_id=msg_id)

    with serving(app) as base:
        pusher = WeChatPusher(None, TOKEN, APPID, AES_KEY)

        def one_try(_: int) -> Any:
            body, encrypted = pusher.envelope(xml)
            query = pusher.query()
            query["encrypt_type"] = "aes"
            query["msg_signature"] = sign(TOKEN, query["timestamp"], query["nonce"], encrypted)
            resp = requests.post(f"{base}/wechat", params=query, data=body.encode(), timeout=10)
            return pusher.open_reply(resp, encrypted_mode=True)

        with ThreadPoolExecutor(max_workers=3) as pool:
            replies = list(pool.map(one_try, range(3)))

    assert handler.calls == 1
    assert [r.status for r in replies] == [200, 200, 200]
    assert {r.text for r in replies} == {"第 1 次处理：你好"}


def test_retry_gives_up_waiting_and_answers_success_when_the_first_try_hangs(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = CountingHandler(delay=1.5)
    monkeypatch.setitem(HANDLERS, "greeting", handler)
    app = make_app(REPLY_BUDGET_SECONDS=3.0, DEDUP_RETRY_WAIT_SECONDS=0.3)
    msg_id = next_msg_id()
    with serving(app) as base:
        pusher = WeChatPusher(None, TOKEN, APPID, AES_KEY)

        def post() -> requests.Response:
            return requests.post(
                f"{base}/wechat",
                params=pusher.query(),
                data=text_xml("你好", msg_id=msg_id).encode(),
                timeout=10,
            )

        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(post)
            time.sleep(0.2)
            started = time.monotonic()
            retry = pool.submit(post).result()
            waited = time.monotonic() - started
            assert retry.text == "success"
            assert waited < 1.2
            assert "第 1 次处理" in first.result().text
    assert handler.calls == 1
