"""Every inbound push is recorded once, whether buffered through Redis or written in the request."""

from __future__ import annotations

import time

import pytest

from tests.conftest import AES_KEY, APPID, TOKEN, AppFactory, message_log_rows, needs_redis
from tests.wechat_factory import WeChatPusher, event_xml, next_msg_id, text_xml


def _flush(app) -> str:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=["messages", "flush"])
    assert result.exit_code == 0, result.output
    return result.output


@needs_redis
def test_buffered_messages_reach_the_database_on_flush_once_each(make_app: AppFactory) -> None:
    app = make_app(MESSAGE_LOG_MODE="buffered")
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY)
    ids = [next_msg_id() for _ in range(5)]
    for msg_id in ids:
        pusher.push(text_xml(f"你好 {msg_id}", openid="o_log", msg_id=msg_id), mode="safe")
    pusher.push(text_xml("重试", openid="o_log", msg_id=ids[0]), mode="safe")  # a WeChat retry
    assert message_log_rows(app) == []  # nothing on the request path
    assert "flushed 6 message(s)" in _flush(app)
    rows = message_log_rows(app)
    assert [r["msg_id"] for r in rows] == ids
    assert rows[1]["content"] == f"你好 {ids[1]}" and rows[1]["openid"] == "o_log"
    assert "flushed 0 message(s)" in _flush(app)


@needs_redis
def test_flusher_thread_moves_messages_without_being_asked(make_app: AppFactory) -> None:
    app = make_app(MESSAGE_LOG_MODE="buffered", MESSAGE_LOG_FLUSH_INTERVAL_SECONDS=0.05)
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY)
    pusher.text("你好", openid="o_bg")
    deadline = time.monotonic() + 5
    while not message_log_rows(app) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [r["openid"] for r in message_log_rows(app)] == ["o_bg"]


def test_sync_mode_writes_inside_the_request(make_app: AppFactory) -> None:
    app = make_app(MESSAGE_LOG_MODE="sync")
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY)
    msg_id = next_msg_id()
    pusher.text("你好", openid="o_sync", msg_id=msg_id)
    pusher.text("你好", openid="o_sync", msg_id=msg_id)
    assert [r["msg_id"] for r in message_log_rows(app)] == [msg_id]


def test_sync_mode_database_catches_a_retry_redis_forgot(make_app: AppFactory) -> None:
    app = make_app(MESSAGE_LOG_MODE="sync")
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY)
    msg_id = next_msg_id()
    assert "小助手" in pusher.text("你好", msg_id=msg_id).text
    rx = app.extensions["redis"]
    rx.client.delete(rx.key("dedup", f"m:{msg_id}"))  # as after a Redis restart
    assert pusher.text("你好", msg_id=msg_id).is_success


@pytest.mark.parametrize("mode", ["buffered", "sync"])
def test_subscribe_message_events_are_parsed_and_recorded(make_app: AppFactory, mode: str) -> None:
    app = make_app(MESSAGE_LOG_MODE=mode)
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY)
    popup = event_xml("subscribe_msg_popup_event", openid="o_sub").replace(
        "</xml>",
        "<SubscribeMsgPopupEvent><List><TemplateId><![CDATA[tpl_a]]></TemplateId>"
        "<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>2</PopupScene></List>"
        "<List><TemplateId><![CDATA[tpl_b]]></TemplateId>"
        "<SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString><PopupScene>2</PopupScene></List>"
        "</SubscribeMsgPopupEvent></xml>",
    )
    assert pusher.push(popup, mode="safe").is_success
    _flush(app)
    (row,) = message_log_rows(app)
    assert row["event"] == "subscribe_msg_popup_event"
    lists = row["payload"]["SubscribeMsgPopupEvent"]["List"]
    assert [(i["TemplateId"], i["SubscribeStatusString"]) for i in lists] == [
        ("tpl_a", "accept"),
        ("tpl_b", "reject"),
    ]
