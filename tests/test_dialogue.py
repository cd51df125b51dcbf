"""Routing by event type, menu key, message type and intent; the multi-turn form engine."""

from __future__ import annotations

import pytest

from bot.dialogue.context import Context
from bot.dialogue.forms import Field, Form, Invalid, register_form, start_form
from bot.wechat.replies import Reply, Text
from handlers import HANDLERS
from tests.wechat_factory import WeChatPusher, event_xml, message_xml, next_msg_id


def test_subscribe_gets_the_welcome(wechat: WeChatPusher) -> None:
    reply = wechat.push(event_xml("subscribe", EventKey="qrscene_youth_center_3"))
    assert "欢迎关注" in reply.text


def test_unsubscribe_answers_success(wechat: WeChatPusher) -> None:
    assert wechat.push(event_xml("unsubscribe")).is_success


def test_menu_click_routes_by_key(wechat: WeChatPusher) -> None:
    assert "小助手" in wechat.push(event_xml("CLICK", EventKey="GREETING")).text
    # An unknown key is answered, not failed.
    assert "没太明白" in wechat.push(event_xml("CLICK", EventKey="NO_SUCH_KEY")).text


@pytest.mark.parametrize("event", ["VIEW", "LOCATION", "TEMPLATESENDJOBFINISH", "something_new"])
def test_events_that_need_no_answer_get_success(wechat: WeChatPusher, event: str) -> None:
    assert wechat.push(event_xml(event, EventKey="x")).is_success


def test_image_gets_a_friendly_text_only_notice(wechat: WeChatPusher) -> None:
    reply = wechat.push(message_xml("image", PicUrl="http://x/1.jpg", MediaId="m", MsgId=next_msg_id()))
    assert "文字" in reply.text


def test_voice_transcript_is_understood_and_missing_transcript_is_handled(wechat: WeChatPusher) -> None:
    with_text = message_xml("voice", MediaId="m", Format="amr", Recognition="你好", MsgId=next_msg_id())
    assert "小助手" in wechat.push(with_text).text
    without = message_xml("voice", MediaId="m", Format="amr", Recognition="", MsgId=next_msg_id())
    assert "文字" in wechat.push(without).text


def test_unknown_message_type_is_answered_without_error(wechat: WeChatPusher) -> None:
    reply = wechat.push(message_xml("hologram", MsgId=next_msg_id()))
    assert reply.status == 200


def test_full_width_and_english_greetings(wechat: WeChatPusher) -> None:
    assert "小助手" in wechat.text("ＨＥＬＬＯ").text
    assert "没太明白" in wechat.text("量子色动力学").text


# -- forms --------------------------------------------------------------------------------------------


def _age(value: str) -> str:
    value = value.strip()
    if not value.isdigit() or not 6 <= int(value) <= 35:
        raise Invalid("年龄需要是 6 到 35 之间的数字。")
    return value


def _done(ctx: Context, data: dict[str, str]) -> Reply:
    return Text(f"收到：{data['nickname']}，{data['age']} 岁")


register_form(
    Form(
        name="test_profile",
        intro="我们来填一个小资料。",
        fields=(Field("nickname", "你的昵称是？"), Field("age", "你的年龄是？", _age)),
        on_complete=_done,
    )
)


@pytest.fixture
def form_trigger(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the greeting intent open the test form, as intent handlers will for real forms."""
    monkeypatch.setitem(HANDLERS, "greeting", lambda ctx: start_form(ctx, "test_profile"))


@pytest.mark.usefixtures("form_trigger")
def test_form_asks_validates_and_completes(wechat: WeChatPusher) -> None:
    first = wechat.text("你好", openid="o_form")
    assert "小资料" in first.text and "昵称" in first.text
    assert "年龄" in wechat.text("小明]]>", openid="o_form").text
    again = wechat.text("一百岁", openid="o_form")
    assert "6 到 35" in again.text and "年龄" in again.text
    done = wechat.text("18", openid="o_form")
    # The user's "]]>" survives the round trip through a CDATA reply.
    assert done.text == "收到：小明]]>，18 岁"
    # The form is over: the next message is routed by intent again.
    assert "小资料" in wechat.text("你好", openid="o_form").text


@pytest.mark.usefixtures("form_trigger")
@pytest.mark.parametrize("word", ["取消", "退出", " 取消 ", "Cancel"])
def test_cancel_always_works_inside_a_form(wechat: WeChatPusher, word: str) -> None:
    wechat.text("你好", openid="o_cancel")
    wechat.text("小红", openid="o_cancel")
    assert "取消" in wechat.text(word, openid="o_cancel").text
    assert "没太明白" in wechat.text("18", openid="o_cancel").text


def test_cancel_outside_a_form_says_there_is_nothing_to_cancel(wechat: WeChatPusher) -> None:
    assert "没有进行中" in wechat.text("取消").text


@pytest.mark.usefixtures("form_trigger")
def test_form_gives_up_after_the_attempt_limit(wechat: WeChatPusher) -> None:
    wechat.text("你好", openid="o_limit")
    wechat.text("小刚", openid="o_limit")
    assert "6 到 35" in wechat.text("abc", openid="o_limit").text
    assert "6 到 35" in wechat.text("def", openid="o_limit").text
    assert "退出" in wechat.text("ghi", openid="o_limit").text
    assert "没太明白" in wechat.text("20", openid="o_limit").text


@pytest.mark.usefixtures("form_trigger")
def test_forms_of_different_users_do_not_mix(wechat: WeChatPusher) -> None:
    wechat.text("你好", openid="o_a")
    wechat.text("你好", openid="o_b")
    assert "年龄" in wechat.text("甲", openid="o_a").text
    assert "年龄" in wechat.text("乙", openid="o_b").text
    assert wechat.text("20", openid="o_b").text == "收到：乙，20 岁"
    assert wechat.text("21", openid="o_a").text == "收到：甲，21 岁"


def test_handler_error_gives_an_apology_not_a_5xx(
    wechat: WeChatPusher, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(ctx: Context) -> Reply:
        raise RuntimeError("boom")

    monkeypatch.setitem(HANDLERS, "greeting", broken)
    for mode in ("plain", "safe"):
        reply = wechat.text("你好", mode=mode)
        assert reply.status == 200
        assert "抱歉" in reply.text and "12355" in reply.text
        assert "boom" not in reply.raw and "Traceback" not in reply.raw
    assert "handler failed" in caplog.text
