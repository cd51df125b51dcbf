"""就业见习 in chat, through the signed webhook: list, narrowing, paging, detail, the application form,
my applications and withdrawal. Each test tags its posts with a unique word so it only sees its own."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from bot import content
from bot.extensions import db
from services import traineeships, users
from services.models import Application, Traineeship
from tests.wechat_factory import WeChatPusher, event_xml

FORM_ANSWERS = ("张小明", "13812345678", "北京大学", "金融学", "2025")


def run(app: Flask, work: Callable[[], Any]) -> Any:
    with app.app_context():
        try:
            return work()
        finally:
            db.session.remove()


def tag() -> str:
    return "t" + uuid.uuid4().hex[:4]


def post(app: Flask, title: str, minutes: int = 0, **fields: Any) -> int:
    """An open post; published in the future so that it tops the newest-first list."""

    def work() -> int:
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "title": title,
            "employer": "金融街某银行",
            "district": "西城区",
            "field": "金融",
            "stipend": 3000,
            "positions": 2,
            "description": "每周五天，导师带教。",
            "status": "open",
            "published_at": now + timedelta(days=1, minutes=minutes),
            "deadline": now + timedelta(days=30),
            **fields,
        }
        row = Traineeship(**values)
        db.session.add(row)
        db.session.commit()
        return row.id

    return int(run(app, work))


def applications(app: Flask, post_id: int) -> list[Application]:
    return list(
        run(
            app,
            lambda: list(
                db.session.scalars(select(Application).where(Application.traineeship_id == post_id))
            ),
        )
    )


@pytest.fixture
def openid() -> str:
    return "o_tr_" + uuid.uuid4().hex[:10]


def test_menu_key_and_question_list_the_newest_posts(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    word = tag()
    post(app, f"{word} 柜面见习", minutes=1, stipend=3500)
    listed = wechat.push(event_xml("CLICK", openid=openid, EventKey="TRAINEESHIP")).text
    assert f"1. {word} 柜面见习" in listed and "金融街某银行" in listed and "西城区" in listed
    assert "3500元/月" in listed and "回复编号" in listed and "我的申请" in listed
    assert len(listed.encode()) <= 2048
    assert f"{word} 柜面见习" in wechat.text("有什么实习", openid=openid).text


def test_narrowing_by_keyword_district_and_stipend(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    word = tag()
    post(app, f"{word} 西城见习", minutes=2, stipend=3500)
    post(app, f"{word} 东城见习", minutes=1, district="东城区", stipend=2000)
    post(app, "别的岗位", minutes=3)
    both = wechat.text(f"有没有{word}的实习", openid=openid).text
    assert f"{word} 西城见习" in both and f"{word} 东城见习" in both and "别的岗位" not in both
    assert f"筛选：{word}" in both
    west = wechat.text("西城", openid=openid).text
    assert f"{word} 西城见习" in west and f"{word} 东城见习" not in west
    # Narrowing adds up: the stipend keeps the keyword and the district.
    assert f"{word} 西城见习" in wechat.text("3000以上", openid=openid).text
    none = wechat.text("5000以上", openid=openid).text
    assert "暂时没有" in none
    everything = wechat.text("全部", openid=openid).text
    assert "别的岗位" in everything and "筛选：" not in everything


def test_next_page_continues_the_numbering(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    word = tag()
    for i in range(7):
        post(app, f"{word} 岗位{i}", minutes=i)
    first = wechat.text(f"{word}实习", openid=openid).text
    assert f"1. {word} 岗位6" in first and f"5. {word} 岗位2" in first and "岗位1" not in first
    second = wechat.text("下一页", openid=openid).text
    assert f"6. {word} 岗位1" in second and f"7. {word} 岗位0" in second and "下一页" not in second
    assert "最后一页" in wechat.text("下一页", openid=openid).text
    # Numbers from both pages still work.
    assert f"【{word} 岗位6】" in wechat.text("1", openid=openid).text
    assert f"【{word} 岗位0】" in wechat.text("7", openid=openid).text
    assert "没有第 9 个" in wechat.text("9", openid=openid).text


def test_detail_apply_form_with_reask_and_outcome(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    word = tag()
    post_id = post(app, f"{word} 数据见习", education="bachelor", location="金融大街 1 号")
    wechat.text(f"{word}实习", openid=openid)
    detail = wechat.text("1", openid=openid).text
    assert f"【{word} 数据见习】" in detail and "金融大街 1 号" in detail and "本科及以上学历" in detail
    assert "回复“申请”" in detail
    assert "姓名" in wechat.text("申请", openid=openid).text
    assert "手机号码" in wechat.text("张小明", openid=openid).text
    again = wechat.text("12345", openid=openid).text
    assert "手机号码好像不对" in again and "手机号码是" in again
    assert "学校" in wechat.text("138 1234 5678", openid=openid).text
    school_again = wechat.text("北", openid=openid).text  # too short: asked again, not an apology
    assert content.text("traineeship_apply_school_invalid") in school_again and "学校" in school_again
    assert "专业" in wechat.text("北京大学", openid=openid).text
    assert content.text("traineeship_apply_major_invalid") in wechat.text("金" * 101, openid=openid).text
    assert "毕业年份" in wechat.text("金融学", openid=openid).text
    assert "毕业年份请填写" in wechat.text("1999", openid=openid).text
    done = wechat.text("2025届", openid=openid).text
    assert "申请已提交" in done and "138****5678" in done and "13812345678" not in done
    [saved] = applications(app, post_id)
    assert (saved.name, saved.phone, saved.school, saved.major, saved.graduation_year) == (
        "张小明",
        "13812345678",
        "北京大学",
        "金融学",
        2025,
    )
    # Applying again is answered from the existing application: no second form, no second row.
    assert "已经申请过" in wechat.text("申请", openid=openid).text
    assert len(applications(app, post_id)) == 1


def test_withdraw_words_in_front_of_a_post_never_start_the_form(
    app: Flask, wechat: WeChatPusher, openid: str
) -> None:
    word = tag()
    post(app, f"{word} 档案见习")
    wechat.text(f"{word}实习", openid=openid)
    assert f"【{word} 档案见习】" in wechat.text("1", openid=openid).text
    for words in ("取消申请", "撤回申请", "不想申请了"):
        reply = wechat.text(words, openid=openid).text
        assert content.text("traineeship_apply_name_prompt") not in reply, words
    assert content.text("traineeship_mine_none") in wechat.text("取消申请", openid=openid).text


def test_cancel_leaves_the_form_and_keeps_the_list(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    word = tag()
    post_id = post(app, f"{word} 文化见习")
    wechat.text(f"{word}实习", openid=openid)
    wechat.text("1", openid=openid)
    assert "姓名" in wechat.text("我要申请这个岗位", openid=openid).text
    wechat.text("张小明", openid=openid)
    assert "已经取消" in wechat.text("取消", openid=openid).text
    assert applications(app, post_id) == []
    assert f"【{word} 文化见习】" in wechat.text("1", openid=openid).text


def test_crisis_in_the_middle_of_the_form_interrupts_it(
    app: Flask, wechat: WeChatPusher, openid: str
) -> None:
    word = tag()
    post_id = post(app, f"{word} 社区见习")
    wechat.text(f"{word}实习", openid=openid)
    wechat.text("1", openid=openid)
    wechat.text("申请", openid=openid)
    crisis = wechat.text("我不想活了", openid=openid).text
    assert "12355" in crisis and "110" in crisis
    # The form is gone: a phone number is no longer taken as its next answer, nor is "1" a list pick.
    assert "学校" not in wechat.text("13812345678", openid=openid).text
    assert f"【{word}" not in wechat.text("1", openid=openid).text
    assert applications(app, post_id) == []


def test_my_applications_status_note_and_withdraw(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    word = tag()
    post_id = post(app, f"{word} 医院见习", employer="某三甲医院")
    assert "还没有申请" in wechat.text("我的申请", openid=openid).text

    def apply_and_review() -> None:
        user = users.get_or_create_oa_user(db.session, openid)
        application, _ = traineeships.apply(
            db.session,
            user,
            post_id,
            name="李华",
            phone="13912345678",
            school="首都医科大学",
            major="护理",
            graduation_year=2025,
        )
        traineeships.set_application_status(
            db.session, application.id, "reviewing", actor="staff:test", note="请周三带简历面谈"
        )

    run(app, apply_and_review)
    mine = wechat.push(event_xml("CLICK", openid=openid, EventKey="MY_APPLICATIONS")).text
    assert f"1. {word} 医院见习（某三甲医院）" in mine and "审核中" in mine and "请周三带简历面谈" in mine
    assert "已撤回对" in wechat.text("撤回 1", openid=openid).text
    assert "已撤回" in wechat.text("我的申请", openid=openid).text
    assert [a.status for a in applications(app, post_id)] == ["withdrawn"]


def test_closed_post_cannot_be_applied_for(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    word = tag()
    post_id = post(app, f"{word} 见习")
    wechat.text(f"{word}实习", openid=openid)
    wechat.text("1", openid=openid)
    run(app, lambda: traineeships.close_traineeship(db.session, post_id, "staff:test"))
    assert "停止招募" in wechat.text("申请", openid=openid).text


def test_long_titles_still_fit_one_text(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    word = tag()
    for i in range(6):
        post(
            app,
            f"{word} " + "超长的岗位名称" * 13,
            minutes=i,
            employer="非常长的用人单位名称" * 10,
            location="很长的地址" * 40,
            description="岗位职责和要求的详细说明。" * 400,
        )
    listed = wechat.text(f"{word}实习", openid=openid).text
    assert len(listed.encode()) <= 2048 and "5. " in listed and "下一页" in listed
    detail = wechat.text("1", openid=openid).text
    assert len(detail.encode()) <= 2048


def test_confusing_reply_restates_the_options(app: Flask, wechat: WeChatPusher, openid: str) -> None:
    word = tag()
    post(app, f"{word} 见习")
    wechat.text(f"{word}实习", openid=openid)
    wechat.text("1", openid=openid)
    confused = wechat.text("这个是怎么回事呀？？", openid=openid).text
    assert "没太明白" in confused and "编号" in confused and "申请" in confused
    # Another service named plainly still goes there, and the list no longer claims numbers.
    assert "活动" in wechat.text("周末有什么活动", openid=openid).text
