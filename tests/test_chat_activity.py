"""Activities in chat, through the signed webhook: list with time, place and seats, detail, sign-up
(confirmed, waitlisted when full), cancellation and "my activities". Each test tags its activities with a
unique word so it only sees its own."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from bot.extensions import db
from services import activities, users
from services.models import Activity, Signup
from tests.wechat_factory import WeChatPusher, event_xml

BEIJING_SAT_2PM = datetime(2030, 11, 30, 6, 0, tzinfo=UTC)  # 2030-11-30 is a Saturday; 14:00 in Beijing


def run(app: Flask, work: Callable[[], Any]) -> Any:
    with app.app_context():
        try:
            return work()
        finally:
            db.session.remove()


def tag() -> str:
    return "a" + uuid.uuid4().hex[:4]


def activity(app: Flask, title: str, hours: int = 0, **fields: Any) -> int:
    def work() -> int:
        values: dict[str, Any] = {
            "title": title,
            "category": "读书会",
            "description": "一起读一本好书。",
            "location": "西城区青年汇",
            "district": "西城区",
            "starts_at": BEIJING_SAT_2PM + timedelta(hours=hours),
            "capacity": 3,
            "confirmed": 0,
            "waitlist": True,
            "status": "published",
            **fields,
        }
        row = Activity(**values)
        db.session.add(row)
        db.session.commit()
        return row.id

    return int(run(app, work))


def signups(app: Flask, activity_id: int) -> dict[int, str]:
    rows = run(app, lambda: list(db.session.scalars(select(Signup).where(Signup.activity_id == activity_id))))
    return {row.user_id: row.status for row in rows}


def sign_up_someone_else(app: Flask, activity_id: int) -> None:
    def work() -> None:
        other = users.get_or_create_oa_user(db.session, "o_other_" + uuid.uuid4().hex[:8])
        activities.sign_up(db.session, other, activity_id)

    run(app, work)


@pytest.fixture
def openid() -> str:
    return "o_act_" + uuid.uuid4().hex[:10]


def test_list_shows_time_place_and_seats(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    word = tag()
    activity(app, f"{word} 读书会", capacity=3)
    full = activity(app, f"{word} 非遗剪纸", hours=1, capacity=1)
    sign_up_someone_else(app, full)
    listed = wechat.text(f"{word}活动", openid=openid).text
    assert f"1. {word} 读书会" in listed and "11月30日 周六 14:00" in listed and "西城区青年汇" in listed
    assert "余 3 位" in listed
    assert f"2. {word} 非遗剪纸" in listed and "已满，可候补" in listed
    assert len(listed.encode()) <= 2048


def test_menu_keys_open_the_list_and_my_activities(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    activity(app, f"{tag()} 志愿服务", hours=-1)
    assert "近期活动" in wechat.push(event_xml("CLICK", openid=openid, EventKey="ACTIVITY")).text
    assert "还没有报名" in wechat.push(event_xml("CLICK", openid=openid, EventKey="MY_ACTIVITIES")).text


def test_sign_up_is_confirmed_once_then_cancelled(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    word = tag()
    activity_id = activity(app, f"{word} 读书会")
    wechat.text(f"{word}活动", openid=openid)
    detail = wechat.text("1", openid=openid).text
    assert f"【{word} 读书会】" in detail and "共 3 位，余 3 位" in detail and "回复“报名”" in detail
    done = wechat.text("报名", openid=openid).text
    assert "报名成功" in done and "11月30日 周六 14:00" in done
    assert list(signups(app, activity_id).values()) == ["confirmed"]
    # A second tap is answered from the existing sign-up.
    assert "已经报名" in wechat.text("报名", openid=openid).text
    assert len(signups(app, activity_id)) == 1
    assert "已取消" in wechat.text("取消报名", openid=openid).text
    assert list(signups(app, activity_id).values()) == ["cancelled"]


def test_full_activity_puts_the_person_on_the_waitlist(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    word = tag()
    activity_id = activity(app, f"{word} 徒步", capacity=1)
    sign_up_someone_else(app, activity_id)
    wechat.text(f"{word}活动", openid=openid)
    assert "加入候补" in wechat.text("1", openid=openid).text
    assert "候补" in wechat.text("我要报名这个活动", openid=openid).text
    assert sorted(signups(app, activity_id).values()) == ["confirmed", "waitlisted"]


def test_my_activities_and_cancel_by_number(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    word = tag()
    first = activity(app, f"{word} 观影")
    second = activity(app, f"{word} 沙龙", hours=2)
    for activity_id in (first, second):
        run(
            app,
            lambda a=activity_id: activities.sign_up(
                db.session, users.get_or_create_oa_user(db.session, openid), a
            ),
        )
    mine = wechat.text("我的活动", openid=openid).text
    assert f"{word} 观影" in mine and f"{word} 沙龙" in mine and "已报名" in mine
    number = 1 if mine.index(f"{word} 沙龙") < mine.index(f"{word} 观影") else 2
    assert f"已取消「{word} 沙龙」" in wechat.text(f"取消报名 {number}", openid=openid).text
    assert signups(app, second) and list(signups(app, second).values()) == ["cancelled"]
    assert list(signups(app, first).values()) == ["confirmed"]
    # Without a number or an activity in view, the person is shown their sign-ups to pick from.
    which = wechat.text("取消报名", openid=openid).text
    assert f"1. {word} 观影" in which and "请对照编号" in which
    assert "还没有报名" in wechat.text("取消报名", openid=openid + "_new").text


def test_paging_and_long_titles_fit_one_text(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    word = tag()
    for i in range(7):
        activity(app, f"{word} " + "很长很长的活动名称" * 10, hours=i, location="很长的活动地点" * 25)
    listed = wechat.text(f"{word}活动", openid=openid).text
    assert len(listed.encode()) <= 2048 and "5. " in listed and "下一页" in listed
    more = wechat.text("下一页", openid=openid).text
    assert "6. " in more and "7. " in more and len(more.encode()) <= 2048


def test_confusing_reply_restates_the_options(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    word = tag()
    activity(app, f"{word} 读书会")
    wechat.text(f"{word}活动", openid=openid)
    confused = wechat.text("这是怎么回事呀？？", openid=openid).text
    assert "没太明白" in confused and "编号" in confused and "我的活动" in confused
