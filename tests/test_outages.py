"""Redis or the database down: WeChat still gets an answer, never a 5xx."""

from __future__ import annotations

import pytest

from bot.dialogue.context import Context
from bot.wechat.replies import Reply
from handlers import HANDLERS
from tests.conftest import AES_KEY, APPID, TOKEN, AppFactory, message_log_rows
from tests.wechat_factory import WeChatPusher, next_msg_id, text_xml

DEAD_REDIS = "redis://127.0.0.1:1/0"
DEAD_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/nothing"


def test_redis_down_still_answers_and_the_database_dedups(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(REDIS_URL=DEAD_REDIS)
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY)
    msg_id = next_msg_id()
    first = pusher.push(text_xml("你好", msg_id=msg_id), mode="safe")
    assert first.status == 200 and "小助手" in first.text
    # The message log's unique key is the second line of defence: the retry is not handled again.
    assert pusher.push(text_xml("你好", msg_id=msg_id), mode="safe").is_success
    assert [r["msg_id"] for r in message_log_rows(app)] == [msg_id]
    assert "redis unavailable" in caplog.text


def test_redis_and_database_down_still_answers(make_app: AppFactory) -> None:
    app = make_app(REDIS_URL=DEAD_REDIS, DATABASE_URL=DEAD_DATABASE)
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY)
    for mode in ("plain", "safe"):
        reply = pusher.text("你好", mode=mode)
        assert reply.status == 200 and "小助手" in reply.text


def test_database_down_in_sync_log_mode_still_answers(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(DATABASE_URL=DEAD_DATABASE, MESSAGE_LOG_MODE="sync")
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY)
    assert "小助手" in pusher.text("你好").text
    assert "message log write failed" in caplog.text


def test_handler_that_needs_a_dead_database_apologises(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import text

    from bot.extensions import db

    def needs_db(ctx: Context) -> Reply:
        db.session.execute(text("SELECT 1"))
        raise AssertionError("the database should have been unreachable")

    monkeypatch.setitem(HANDLERS, "greeting", needs_db)
    app = make_app(DATABASE_URL=DEAD_DATABASE)
    reply = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY).text("你好")
    assert reply.status == 200 and "抱歉" in reply.text


def test_healthz_reports_both_backends(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/healthz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]


def test_healthz_is_503_when_a_backend_is_down(make_app: AppFactory) -> None:
    resp = make_app(REDIS_URL=DEAD_REDIS).test_client().get("/healthz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["checks"]["redis"]["ok"] is False and body["checks"]["database"]["ok"] is True
    resp = make_app(DATABASE_URL=DEAD_DATABASE).test_client().get("/healthz")
    assert resp.status_code == 503 and resp.get_json()["checks"]["database"]["ok"] is False
