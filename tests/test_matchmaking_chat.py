"""Matchmaking in chat, through the signed webhook: the list and detail, the profile form (consent first,
validated, adults only), the single declaration and sign-up, my sign-ups, cancel, check-in, and withdrawal
of everything after a confirmation."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select

from bot.extensions import db
from services import matchmaking, matchmaking_staff, users
from services.models import StatusChange
from services.models_matchmaking import MatchEvent, MatchProfile, MatchSignup
from tests.matchmaking_helpers import INTRO, make_event, make_profile
from tests.wechat_factory import WeChatPusher, event_xml

BEIJING_SAT_2PM = datetime(2030, 11, 30, 6, 0, tzinfo=UTC)  # a Saturday, 14:00 in Beijing


def run(app: Flask, work: Callable[[], Any]) -> Any:
    with app.app_context():
        try:
            return work()
        finally:
            db.session.remove()


@pytest.fixture(autouse=True)
def no_events(app: Flask) -> Iterator[None]:
    """The list shows every upcoming event: each test starts from none."""

    def wipe() -> None:
        for model in (MatchSignup, MatchProfile, MatchEvent):
            db.session.execute(delete(model))
        db.session.execute(delete(StatusChange).where(StatusChange.subject.like("match_%")))
        db.session.commit()

    run(app, wipe)
    yield
    run(app, wipe)


@pytest.fixture
def openid() -> str:
    return "o_match_" + uuid.uuid4().hex[:10]


def event(app: Flask, **fields: Any) -> int:
    values = {"title": "单身青年联谊·金融街专场", "starts_at": BEIJING_SAT_2PM, **fields}
    return int(run(app, lambda: make_event(db.session, **values).id))


def rows(app: Flask, model: Any, openid: str) -> list[Any]:
    def work() -> list[Any]:
        user = users.get_or_create_oa_user(db.session, openid)
        return list(db.session.scalars(select(model).where(model.user_id == user.id)))

    return list(run(app, work))


def with_profile(app: Flask, openid: str, **fields: Any) -> None:
    run(app, lambda: make_profile(db.session, users.get_or_create_oa_user(db.session, openid), **fields))


def fill_profile(wechat: WeChatPusher, openid: str, age: str = "26", intro: str = INTRO) -> str:
    for answer in ("同意", "小林", age, "男", "金融"):
        wechat.text(answer, openid=openid)
    return wechat.text(intro, openid=openid).text


def test_list_detail_profile_form_and_sign_up(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    event_id = event(app)
    listed = wechat.text("交友活动", openid=openid).text
    assert "1. 单身青年联谊·金融街专场" in listed and "11月30日 周六 14:00" in listed
    assert "男 余2｜女 余2" in listed and len(listed.encode()) <= 2048
    detail = wechat.text("1", openid=openid).text
    assert "合办单位：金融街团工委" in detail and "22–35 周岁" in detail and "需工作人员审核" in detail

    asked = wechat.text("报名", openid=openid).text
    assert "需要先填写一份交友资料" in asked and "不会展示给其他参与者" in asked and "回复“同意”" in asked
    assert "回复“同意”" in wechat.text("好吧", openid=openid).text  # consent is not assumed
    assert "昵称" in wechat.text("同意", openid=openid).text
    assert "年龄" in wechat.text("小林", openid=openid).text
    assert "数字年龄" in wechat.text("二十多", openid=openid).text
    assert "男 或 女" in wechat.text("26", openid=openid).text
    assert "职业领域" in wechat.text("男", openid=openid).text
    assert "介绍" in wechat.text("金融", openid=openid).text
    declared = wechat.text(INTRO, openid=openid).text
    assert "交友资料已保存" in declared and "单身" in declared and "回复“确认”" in declared
    done = wechat.text("确认", openid=openid).text
    assert "报名已提交" in done and "审核" in done and "11月30日 周六 14:00" in done

    (profile,) = rows(app, MatchProfile, openid)
    # Chat users have no miniprogram session WeChat could check against: staff read the text first.
    assert profile.intro_verdict == "review" and profile.gender == "male" and profile.occupation == "金融"
    (signup,) = rows(app, MatchSignup, openid)
    assert (signup.event_id, signup.status) == (event_id, "pending")
    assert "已经报名" in wechat.text("报名", openid=openid).text

    mine = wechat.text("我的交友活动", openid=openid).text
    assert "1. 单身青年联谊·金融街专场" in mine and "待审核" in mine
    assert "已取消" in wechat.text("取消报名 1", openid=openid).text
    assert [s.status for s in rows(app, MatchSignup, openid)] == ["cancelled"]


def test_minors_are_told_kindly_and_nothing_is_kept(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    event(app)
    wechat.text("相亲", openid=openid)
    wechat.text("1", openid=openid)
    wechat.text("报名", openid=openid)
    for answer in ("同意", "小雨"):
        wechat.text(answer, openid=openid)
    told = wechat.text("16", openid=openid).text
    assert "年满 18 周岁" in told and "性别" not in told  # nothing more is asked of a minor
    assert rows(app, MatchProfile, openid) == [] and rows(app, MatchSignup, openid) == []

    minor = "o_minor_" + uuid.uuid4().hex[:8]
    run(
        app,
        lambda: users.update_profile(
            db.session, users.get_or_create_oa_user(db.session, minor), age_band="14to17"
        ),
    )
    assert "年满 18 周岁" in wechat.text("脱单", openid=minor).text


def test_risky_intro_is_refused_and_not_stored(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    wechat.text("交友资料", openid=openid)
    refused = fill_profile(wechat, openid, intro=INTRO + "周末带你去赌博赚钱")
    assert "资料没有保存" in refused and "重新填写" in refused
    assert rows(app, MatchProfile, openid) == []


def test_waitlist_when_full_for_my_gender(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    event_id = event(app, seats_male=1, seats_female=1, requires_review=False)

    def someone_else() -> None:
        other = users.get_or_create_oa_user(db.session, "o_other_" + uuid.uuid4().hex[:8])
        make_profile(db.session, other, gender="male")
        matchmaking.sign_up(db.session, other, event_id, single_declared=True)

    run(app, someone_else)
    with_profile(app, openid, gender="male")
    wechat.text("交友活动", openid=openid)
    assert "男 余0｜女 余1" in wechat.text("1", openid=openid).text
    wechat.text("报名", openid=openid)
    assert (
        "加入" in wechat.text("确认", openid=openid).text
        and "候补" in wechat.text("我的交友活动", openid=openid).text
    )


def test_check_in_with_the_code(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    event_id = event(app, starts_at=datetime.now(UTC) + timedelta(minutes=20), checkin_code="8642")
    with_profile(app, openid)

    def approve() -> None:
        user = users.get_or_create_oa_user(db.session, openid)
        signup = matchmaking.sign_up(db.session, user, event_id, single_declared=True)
        matchmaking_staff.review_signup(db.session, signup.id, "approved", "staff:li")

    run(app, approve)
    assert "签到码" in wechat.text("交友签到", openid=openid).text
    assert "签到没有成功" in wechat.text("交友签到 1111", openid=openid).text
    assert "签到成功" in wechat.text("交友签到 8642", openid=openid).text
    assert rows(app, MatchSignup, openid)[0].checked_in_at is not None


def test_withdraw_everything_after_a_confirmation(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    event_id = event(app)
    with_profile(app, openid)
    run(
        app,
        lambda: matchmaking.sign_up(
            db.session, users.get_or_create_oa_user(db.session, openid), event_id, single_declared=True
        ),
    )
    asked = wechat.text("删除交友资料", openid=openid).text
    assert "确认删除" in asked and "无法恢复" in asked
    assert "已经取消" in wechat.text("取消", openid=openid).text  # the form engine's cancel keeps everything
    assert rows(app, MatchProfile, openid) and rows(app, MatchSignup, openid)
    wechat.text("删除交友资料", openid=openid)
    assert "请回复“确认删除”" in wechat.text("嗯", openid=openid).text
    gone = wechat.text("确认删除", openid=openid).text
    assert "已删除" in gone and "1 条" in gone
    assert rows(app, MatchProfile, openid) == [] and rows(app, MatchSignup, openid) == []
    wechat.text("删除交友资料", openid=openid)
    assert "无需删除" in wechat.text("确认删除", openid=openid).text


def test_menu_key_and_empty_list(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    assert (
        "还没有可以报名的交友活动"
        in wechat.push(event_xml("CLICK", openid=openid, EventKey="MATCHMAKING")).text
    )
    event(app)
    # A later click (another CreateTime: the same one would be deduplicated as WeChat's retry).
    click = event_xml(
        "CLICK", openid=openid, create_time=int(datetime.now(UTC).timestamp()) + 5, EventKey="MATCHMAKING"
    )
    assert "1. 单身青年联谊" in wechat.push(click).text
    assert "在交友活动这里" in wechat.text("这是什么意思呀", openid=openid).text


def test_ineligible_or_closed_is_said_before_anything_is_asked(
    app: Flask, wechat: WeChatPusher, openid: str
) -> None:
    event(app, title="年轻场", age_min=22, age_max=25)
    event(
        app, title="截止场", starts_at=BEIJING_SAT_2PM + timedelta(hours=1), signup_deadline=datetime.now(UTC)
    )
    with_profile(app, openid, age=30)
    wechat.text("交友活动", openid=openid)
    wechat.text("1", openid=openid)
    refused = wechat.text("报名", openid=openid).text
    assert "暂时不符合「年轻场」" in refused and "25" in refused
    assert "停止报名" in wechat.text("2", openid=openid).text
    closed = wechat.text("报名", openid=openid).text
    assert "「截止场」已停止报名" in closed and "确认" not in closed
    assert rows(app, MatchSignup, openid) == []


def test_long_lists_fit_one_text_and_page(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    for i in range(7):
        long = {"title": f"{i}号" + "很长很长的交友活动名称" * 8, "location": "很长的活动地点" * 25}
        event(app, starts_at=BEIJING_SAT_2PM + timedelta(hours=i), **long)
    listed = wechat.text("交友活动", openid=openid).text
    assert len(listed.encode()) <= 2048 and "5. 4号" in listed and "下一页" in listed
    more = wechat.text("下一页", openid=openid).text
    assert "6. 5号" in more and "7. 6号" in more and len(more.encode()) <= 2048
    assert "【6号" in wechat.text("7", openid=openid).text
