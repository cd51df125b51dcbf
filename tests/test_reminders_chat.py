"""Reminders in chat through the signed webhook (订阅活动提醒, 退订, TD, 我的提醒), and unfollowing: the
person's data is erased as WeChat's rules ask, leaving only anonymous counts."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from bot.extensions import db, get_redis
from services import activities, reminders, users
from services.models import MessageLog, Signup, StatusChange, User
from services.models_reminders import ReminderPreference
from tests.conftest import message_log_rows
from tests.factories import make_activity
from tests.wechat_factory import WeChatPusher, event_xml


def run(app: Flask, work: Callable[[], Any]) -> Any:
    with app.app_context():
        try:
            return work()
        finally:
            db.session.remove()


@pytest.fixture
def openid() -> str:
    return "o_rem_" + uuid.uuid4().hex[:10]


def prefs(app: Flask, openid: str) -> dict[str, bool] | None:
    def work() -> dict[str, bool] | None:
        user = db.session.scalars(select(User).where(User.oa_openid == openid)).first()
        return None if user is None else reminders.preferences(db.session, user)

    return run(app, work)


def test_turning_reminders_on_and_off_per_topic(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    on = wechat.text("订阅活动提醒", openid=openid).text
    assert "已开启活动提醒" in on
    assert "24 小时和 2 小时" in on  # exactly what comes, from REMINDER_LEAD_HOURS
    assert "小程序" in on and "订阅" in on  # one-time subscription messages need a tap in the miniprogram
    assert prefs(app, openid) == dict.fromkeys(reminders.TOPICS, True)

    off = wechat.text("退订活动提醒", openid=openid).text
    assert "已关闭活动提醒" in off and "见习提醒" in off  # says what stays on
    assert prefs(app, openid) == {
        "activities": False,
        "traineeships": True,
        "matchmaking": True,
        "wishes": True,
    }

    assert "已退订全部提醒" in wechat.text("TD", openid=openid).text
    assert prefs(app, openid) == dict.fromkeys(reminders.TOPICS, False)

    status = wechat.text("我的提醒", openid=openid).text
    assert status.count("已关闭") == 4 and "已开启" not in status

    on = wechat.text("订阅见习提醒", openid=openid).text
    assert "已开启见习提醒" in on and "审核进度" in on and "活动开始前" not in on
    assert prefs(app, openid) == {
        "activities": False,
        "traineeships": True,
        "matchmaking": False,
        "wishes": False,
    }
    status = wechat.text("我的提醒", openid=openid).text
    assert "见习提醒（已开启）" in status and "活动提醒（已关闭）" in status

    assert "已开启" in wechat.text("订阅提醒", openid=openid).text
    assert prefs(app, openid) == dict.fromkeys(reminders.TOPICS, True)


def test_the_lead_times_in_the_reply_follow_the_setting(make_app: Any, sandbox: Any, openid: str) -> None:
    from tests.conftest import AES_KEY, APPID, TOKEN

    app = make_app(REMINDER_LEAD_HOURS="48,3,1")
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY, sandbox=sandbox)
    assert "48 小时、3 小时和 1 小时" in pusher.text("订阅活动提醒", openid=openid).text


def test_status_before_any_choice_shows_the_defaults_without_storing_anyone(
    app: Flask, wechat: WeChatPusher, openid: str
) -> None:
    status = wechat.text("我的提醒", openid=openid).text
    assert status.count("已开启") == 4
    assert prefs(app, openid) is None


def test_an_opted_out_person_gets_no_activity_reminder(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    from services import reminder_jobs

    wechat.text("退订", openid=openid)

    def work() -> int:
        user = db.session.scalars(select(User).where(User.oa_openid == openid)).one()
        activity = make_activity(db.session, starts_at=datetime.now(UTC) + timedelta(hours=5))
        db.session.add(
            Signup(
                activity_id=activity.id,
                user_id=user.id,
                status="confirmed",
                queued_at=datetime.now(UTC) - timedelta(days=2),
            )
        )
        db.session.commit()
        return len(reminder_jobs.due_reminders(db.session, datetime.now(UTC), [24, 2]))

    assert run(app, work) == 0


def test_unfollowing_erases_the_person_and_keeps_only_anonymous_counts(
    app: Flask, wechat: WeChatPusher, openid: str
) -> None:
    wechat.text("订阅活动提醒", openid=openid)
    wechat.text("我叫张三，电话13800138000", openid=openid)

    def setup() -> tuple[int, int, int]:
        activity = make_activity(db.session, capacity=1)
        me = users.get_or_create_oa_user(db.session, openid)
        users.update_profile(db.session, me, phone="13800138000", age_band="18to24")
        mine = activities.sign_up(db.session, me, activity.id)
        other = users.get_or_create_oa_user(db.session, "o_next_" + uuid.uuid4().hex[:8])
        waiting = activities.sign_up(db.session, other, activity.id)
        assert (mine.status, waiting.status) == ("confirmed", "waitlisted")
        return me.id, mine.id, waiting.id

    user_id, my_signup, their_signup = run(app, setup)
    from bot import message_log

    message_log.flush(app)
    assert any(row["openid"] == openid for row in message_log_rows(app))
    rx = get_redis(app)
    assert rx.client is not None and rx.client.exists(rx.key("transcript", openid))

    reply = wechat.push(event_xml("unsubscribe", openid))
    assert reply.status == 200 and reply.is_success

    def check() -> None:
        assert db.session.get(User, user_id) is None
        left = db.session.scalar(
            select(func.count()).select_from(ReminderPreference).where(ReminderPreference.user_id == user_id)
        )
        assert left == 0
        assert db.session.get(Signup, my_signup) is None
        assert db.session.get(Signup, their_signup).status == "confirmed"  # the seat went to the waitlist
        texts = db.session.scalars(select(MessageLog.content).where(MessageLog.openid == openid)).all()
        assert not any(t and "13800138000" in t for t in texts)
        # Anonymous counts stay: the status history names only a row id that no longer exists.
        history = db.session.scalars(
            select(StatusChange.to_status).where(
                StatusChange.subject == "signup", StatusChange.subject_id == my_signup
            )
        ).all()
        assert history == ["confirmed", "cancelled"]

    run(app, check)
    assert not rx.client.exists(rx.key("transcript", openid))
    # Unfollowing twice (a WeChat retry after the dedup key expired) is harmless.
    assert wechat.push(event_xml("unsubscribe", openid)).is_success
