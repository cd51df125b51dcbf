"""Crisis safety: the regression set at 100% recall, the reply, the case, the alert, and no bypass."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from flask import Flask

from bot.dialogue.crisis import detect
from bot.dialogue.normalise import normalise
from handlers import HANDLERS
from sandbox import SandboxServer
from tests.conftest import AES_KEY, APPID, TOKEN, AppFactory, help_cases_for, wait_for_cases
from tests.wechat_factory import WeChatPusher, message_xml, next_msg_id

REGRESSION = Path(__file__).parent / "data" / "crisis_regression.csv"
MAX_FALSE_ALARM_RATE = 0.10


def _cases() -> list[dict[str, str]]:
    with REGRESSION.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _verdict(app: Flask, text: str) -> str:
    from bot.cli import classify_text

    with app.app_context():
        return classify_text(text)


def test_regression_set_has_full_recall_and_few_false_alarms(app: Flask) -> None:
    cases = _cases()
    positives = [c for c in cases if c["expected"] == "crisis"]
    negatives = [c for c in cases if c["expected"] == "safe"]
    assert len(positives) >= 100 and len(negatives) >= 60
    missed = [c["text"] for c in positives if _verdict(app, c["text"]) != "crisis"]
    assert missed == [], f"{len(missed)} crisis messages missed"
    alarms = [c["text"] for c in negatives if _verdict(app, c["text"]) == "crisis"]
    assert len(alarms) <= MAX_FALSE_ALARM_RATE * len(negatives), f"false alarms: {alarms}"


@pytest.mark.parametrize(
    "text", ["想死你了", "笑死我了哈哈哈", "累死了今天", "热死了", "这道题难死了", "剧本杀约吗"]
)
def test_everyday_hyperbole_does_not_trigger(text: str) -> None:
    assert detect(normalise(text)) is None


@pytest.mark.parametrize(
    "text",
    [
        "我不想活了",
        "我想自殺",
        "wo xiang si",
        "紫砂算了",
        "I want to kill myself",
        "累死了，不想活了",
        "不 想 活😭了",
    ],
)
def test_variants_trigger(text: str) -> None:
    assert detect(normalise(text)) is not None


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_crisis_reply_is_immediate_and_gives_the_lines(wechat: WeChatPusher, app: Flask, mode: str) -> None:
    openid = f"o_crisis_{mode}"
    wechat.text("你好", openid=openid, mode=mode)
    reply = wechat.text("我真的不想活了", openid=openid, mode=mode)
    assert reply.status == 200 and reply.fields["MsgType"] == "text"
    for number in ("12355", "12356", "010-82951332", "110", "120", "人工"):
        assert number in reply.text
    assert len(reply.text.encode()) <= 2048
    (case,) = wait_for_cases(app, openid, "crisis")
    assert case.kind == "crisis" and case.urgent and case.status == "open" and case.category == "suicide"
    texts = [entry["text"] for entry in case.transcript]
    assert texts[-1] == "我真的不想活了" and "你好" in texts


def test_staff_on_duty_are_alerted(make_app: AppFactory, sandbox: SandboxServer) -> None:
    app = make_app(STAFF_ALERT_OPENIDS="o_staff_1,o_staff_2,o_staff_away")
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY, sandbox=sandbox)
    # Customer-service messages reach only people who wrote to the account lately: staff on duty check in.
    for staff in ("o_staff_1", "o_staff_2"):
        pusher.text("值班签到", openid=staff)
    pusher.text("我爸又在打我，我好怕", openid="o_abuse")
    sent = [m.payload for m in sandbox.state.wait_for_sent(2, api="custom_send")]
    assert sorted(m["touser"] for m in sent) == ["o_staff_1", "o_staff_2"]
    # Staff who have not written lately are outside the window: not attempted (the case waits in the console).
    assert sandbox.state.sent(openid="o_staff_away") == []
    # The alert names the case, not the young person's words.
    assert all("紧急" in m["text"]["content"] and "打我" not in m["text"]["content"] for m in sent)


def test_crisis_inside_a_form_interrupts_it(wechat: WeChatPusher, app: Flask) -> None:
    assert "年龄段" in wechat.text("我想预约回电", openid="o_form_crisis").text
    assert "手机号" in wechat.text("2", openid="o_form_crisis").text
    reply = wechat.text("算了我还是想自杀", openid="o_form_crisis")
    assert "12355" in reply.text and "010-82951332" in reply.text
    # The form is gone: the next number is not taken as a form answer.
    assert "手机号" not in wechat.text("13800138000", openid="o_form_crisis").text


def test_crisis_check_runs_before_any_handler_even_if_handlers_break(
    wechat: WeChatPusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("handler bug")

    for intent in list(HANDLERS):
        monkeypatch.setitem(HANDLERS, intent, broken)
    reply = wechat.text("有没有实习，其实我已经不想活了", openid="o_buried")
    assert "12356" in reply.text


def test_voice_transcript_is_checked(wechat: WeChatPusher) -> None:
    xml = message_xml(
        "voice", openid="o_voice", MediaId="m", Format="amr", Recognition="我想跳楼", MsgId=next_msg_id()
    )
    assert "12355" in wechat.push(xml).text


def test_messages_after_a_crisis_join_the_case(wechat: WeChatPusher, app: Flask) -> None:
    wechat.text("我想结束自己的生命", openid="o_after")
    wait_for_cases(app, "o_after", "crisis")
    wechat.text("我在学校天台", openid="o_after")
    (case,) = help_cases_for(app, "o_after")
    assert [e["text"] for e in case.transcript][-1] == "我在学校天台"


def test_a_retried_crisis_message_opens_one_case(wechat: WeChatPusher, app: Flask) -> None:
    msg_id = next_msg_id()
    first = wechat.text("不想活了", openid="o_retry", msg_id=msg_id)
    second = wechat.text("不想活了", openid="o_retry", msg_id=msg_id)
    assert first.text == second.text
    assert len(wait_for_cases(app, "o_retry", "crisis")) == 1
    time.sleep(0.2)
    assert len(help_cases_for(app, "o_retry")) == 1


def test_crisis_reply_goes_out_even_when_the_database_is_down(make_app: AppFactory) -> None:
    app = make_app(DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    reply = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY).text("我想自杀", openid="o_nodb")
    assert reply.status == 200 and "12355" in reply.text


def test_unclear_messages_after_a_crisis_keep_offering_help(wechat: WeChatPusher) -> None:
    wechat.text("我不想活了", openid="o_stay")
    reply = wechat.text("阿巴阿巴", openid="o_stay").text
    assert "12355" in reply and "没太明白" not in reply


def test_asking_for_a_person_twice_keeps_one_case_without_repeating_history(
    wechat: WeChatPusher, app: Flask
) -> None:
    wechat.text("你好", openid="o_twice")
    wechat.text("人工", openid="o_twice")
    wechat.text("还在吗 我要找工作人员", openid="o_twice")
    (case,) = help_cases_for(app, "o_twice", "human")
    texts = [e["text"] for e in case.transcript]
    assert texts.count("你好") == 1 and texts[-1] == "还在吗 我要找工作人员"


def test_crisis_reply_stays_passive_when_the_database_hangs(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services import help_cases

    def stuck(*args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(1.0)
        raise RuntimeError("database stalled")

    monkeypatch.setattr(help_cases, "open_crisis_case", stuck)
    app = make_app(REPLY_BUDGET_SECONDS=0.3)
    started = time.monotonic()
    reply = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY).text("我想自杀", openid="o_stuck")
    assert time.monotonic() - started < 0.5
    assert reply.fields["MsgType"] == "text" and "12355" in reply.text


def test_a_retried_message_appears_once_in_the_case_transcript(wechat: WeChatPusher, app: Flask) -> None:
    msg_id = next_msg_id()
    wechat.text("最近压力好大", openid="o_ring", msg_id=msg_id)
    wechat.text("最近压力好大", openid="o_ring", msg_id=msg_id)  # WeChat's retry
    wechat.text("我不想活了", openid="o_ring")
    (case,) = wait_for_cases(app, "o_ring", "crisis")
    assert [e["text"] for e in case.transcript].count("最近压力好大") == 1
