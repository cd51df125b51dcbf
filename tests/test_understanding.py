"""Routing by intent through the webhook, clarifying questions, 12355 referrals, callbacks and hand-offs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from bot import content
from handlers.human import is_open, next_opening
from tests.conftest import AES_KEY, APPID, TOKEN, AppFactory, help_cases_for
from tests.wechat_factory import WeChatPusher, event_xml


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("有什么实习吗", "见习"),
        ("周末有什么活动", "活动"),
        ("想脱单，有交友活动吗", "交友"),
        ("我想认领一个微心愿", "心愿"),
        ("转人工", "工作人员"),
        ("你好", "小助手"),
    ],
)
def test_intents_route_through_the_webhook(wechat: WeChatPusher, text: str, expected: str) -> None:
    assert expected in wechat.text(text, openid=f"o_{abs(hash(text))}").text


def test_help_12355_gives_topic_guidance_hours_and_fallback_lines(wechat: WeChatPusher) -> None:
    reply = wechat.text("老板拖欠工资三个月了怎么办", openid="o_wage")
    assert "劳动" in reply.text  # the wages topic's guidance
    assert "12355" in reply.text and "12356" in reply.text and "110" in reply.text
    assert "预约回电" in reply.text


def test_callback_booking_for_an_adult(wechat: WeChatPusher, app: Flask) -> None:
    openid = "o_callback"
    wechat.text("最近压力好大，睡不着", openid=openid)
    assert "年龄段" in wechat.text("预约回电", openid=openid).text
    assert "手机号" in wechat.text("3", openid=openid).text
    assert "不太对" in wechat.text("12345", openid=openid).text
    assert "什么时间" in wechat.text("138 0013 8000", openid=openid).text
    done = wechat.text("工作日下午", openid=openid).text
    assert "138****8000" in done and "13800138000" not in done
    (case,) = help_cases_for(app, openid, "callback")
    assert (
        case.contact_phone == "13800138000" and case.age_band == "adult" and case.category == "psychological"
    )


def test_callback_for_a_child_needs_a_guardian_first(wechat: WeChatPusher, app: Flask) -> None:
    openid = "o_child"
    wechat.text("预约回电", openid=openid)
    assert "监护人" in wechat.text("1", openid=openid).text
    # No phone number is asked for before a guardian agrees.
    assert "监护人" in wechat.text("13800138000", openid=openid).text
    assert "手机号" in wechat.text("同意", openid=openid).text
    wechat.text("13800138000", openid=openid)
    wechat.text("周六上午", openid=openid)
    (case,) = help_cases_for(app, openid, "callback")
    assert case.age_band == "under14" and case.guardian_consent is True


def test_human_handoff_queues_once_and_names_the_hours(wechat: WeChatPusher, app: Flask) -> None:
    first = wechat.text("人工", openid="o_human").text
    second = wechat.text("我要找工作人员", openid="o_human").text
    assert "工作人员" in first and "12355" in first
    assert len(help_cases_for(app, "o_human", "human")) == 1
    assert "#" in second


def test_human_handoff_uses_wechat_customer_service_when_enabled(make_app: AppFactory) -> None:
    app = make_app(WECHAT_KF_ENABLED=True)
    reply = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY).text("转人工", openid="o_kf", mode="safe")
    assert reply.fields["MsgType"] == "transfer_customer_service"


def test_office_hours() -> None:
    hours = content.help_directory()["office_hours"]
    tz = ZoneInfo(hours["timezone"])
    assert is_open(datetime(2026, 11, 23, 10, 0, tzinfo=tz), hours)  # Monday morning
    assert not is_open(datetime(2026, 11, 22, 10, 0, tzinfo=tz), hours)  # Sunday
    assert next_opening(datetime(2026, 11, 21, 20, 0, tzinfo=tz), hours) == "11月23日 09:00"  # Saturday night
    assert next_opening(datetime(2026, 11, 23, 7, 0, tzinfo=tz), hours) == "今天 09:00"
    assert next_opening(datetime(2026, 11, 23, 18, 0, tzinfo=tz), hours) == "明天 09:00"


def test_unclear_message_gets_numbered_choices_and_a_number_picks(make_app: AppFactory) -> None:
    # With the confidence bar set high every model decision becomes a question, which makes this exact.
    app = make_app(INTENT_MIN_CONFIDENCE=0.999)
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY)
    reply = pusher.text("我想报个名，下周末有空", openid="o_clarify").text
    assert "回复数字" in reply and "1. " in reply and "2. " in reply
    first_choice = reply.split("1. ", 1)[1].split("\n", 1)[0]
    chosen = pusher.text("1", openid="o_clarify").text
    assert "回复数字" not in chosen and "没太明白" not in chosen
    assert first_choice  # the choice label was shown


def test_two_misses_offer_the_menu_and_a_person(wechat: WeChatPusher) -> None:
    openid = "o_miss"
    assert "没太明白" in wechat.text("量子色动力学", openid=openid).text
    second = wechat.text("阿巴阿巴", openid=openid).text
    assert "人工" in second and "见习" in second


@pytest.mark.parametrize(
    ("key", "expected"),
    [("HELP_12355", "12355"), ("HUMAN", "工作人员"), ("TRAINEESHIP", "见习"), ("ACTIVITY", "活动")],
)
def test_menu_clicks_map_to_intents(wechat: WeChatPusher, key: str, expected: str) -> None:
    assert expected in wechat.push(event_xml("CLICK", openid=f"o_menu_{key}", EventKey=key)).text


def test_faq_entries_are_answered(wechat: WeChatPusher) -> None:
    assert "免费的心理咨询" in wechat.text("12355是什么呀", openid="o_faq").text
    assert "保密" in wechat.text("我说的话会告诉我爸妈吗 保密吗", openid="o_faq").text


def test_asking_for_a_person_works_inside_a_form(wechat: WeChatPusher, app: Flask) -> None:
    openid = "o_form_human"
    assert "年龄段" in wechat.text("预约回电", openid=openid).text
    assert "工作人员" in wechat.text("人工", openid=openid).text
    assert len(help_cases_for(app, openid, "human")) == 1
    # The form is over: a number is not taken as an answer to it.
    assert "手机号" not in wechat.text("3", openid=openid).text
