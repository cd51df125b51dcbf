"""Channel choice per recipient and the error policy, through the worker against the sandbox."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from bot.extensions import db
from sandbox import SandboxServer
from services import delivery, subscriptions
from services.models_delivery import SubscriptionCredit
from tests.delivery_support import dapp_fixture, drain, person, received, rows  # noqa: F401

REMINDER = {"activity": "读书会", "start": "2026年12月5日 14:00", "place": "西城区青年汇"}
SUB_TID = "tmpl_activity_reminder"


def notify(app: Flask, users: list[Any], **fields: Any) -> int:
    values = {
        "kind": "reminder",
        "title": "活动提醒",
        "body": "您报名的读书会明天下午开始。",
        "template": "activity_reminder",
        "values": REMINDER,
        "created_by": "test",
        **fields,
    }
    with app.app_context():
        notice_id = delivery.create_notice(db.session, audience=[u.id for u in users], **values).id
        db.session.remove()
    return notice_id


def progress(app: Flask, notice_id: int) -> delivery.NoticeProgress:
    with app.app_context():
        try:
            return delivery.notice_progress(db.session, notice_id)
        finally:
            db.session.remove()


def test_open_window_gets_a_customer_service_message(dapp: Flask, sandbox: SandboxServer) -> None:
    user = person(dapp, sandbox, window=True)
    notice_id = notify(dapp, [user])
    assert drain(dapp) == 1
    sent = sandbox.state.sent(api="custom_send", accepted=True)
    assert [m.openid for m in sent] == [user.oa_openid]
    assert "读书会" in sent[0].payload["text"]["content"]
    p = progress(dapp, notice_id)
    assert (p.total, p.sent, p.done, p.sent_by_channel) == (1, 1, True, {"customer_service": 1})
    (row,) = rows(dapp, notice_id)
    assert row.status == "sent" and row.channel == "customer_service" and row.sent_at is not None


def test_subscription_credit_is_used_once(dapp: Flask, sandbox: SandboxServer) -> None:
    user = person(dapp, sandbox, follower=False, mp=True, credit=SUB_TID)
    first = notify(dapp, [user])
    drain(dapp)
    sent = sandbox.state.sent(api="subscribe_send", accepted=True)
    assert [m.openid for m in sent] == [user.openid]
    assert sent[0].payload["data"] == {
        "thing1": {"value": "读书会"},
        "time2": {"value": "2026年12月5日 14:00"},
        "thing3": {"value": "西城区青年汇"},
    }
    (row,) = rows(dapp, first)
    assert (row.channel, row.wechat_msgid is not None) == ("subscription", True)
    with dapp.app_context():
        assert subscriptions.credits(db.session, user.openid, SUB_TID) == 0  # type: ignore[arg-type]
        db.session.remove()
    # No credit left and no other channel for a miniprogram-only user: skipped, with the reason.
    second = notify(dapp, [user], title="另一条")
    drain(dapp)
    p = progress(dapp, second)
    assert p.skipped == {"no_channel": 1} and p.done
    assert len(sandbox.state.sent(api="subscribe_send")) == 1


def test_template_message_when_nothing_else_is_open(dapp: Flask, sandbox: SandboxServer) -> None:
    user = person(dapp, sandbox)  # follows, never wrote, no credit
    notice_id = notify(dapp, [user])
    drain(dapp)
    calls = sandbox.state.sent(api="template_send", accepted=True)
    assert [m.openid for m in calls] == [user.oa_openid]
    (row,) = rows(dapp, notice_id)
    assert calls[0].payload["client_msg_id"] == f"outbox-{row.id}"
    assert calls[0].payload["data"]["thing1"]["value"] == "活动提醒：读书会"
    # The closed window was checked locally: WeChat was not asked.
    assert sandbox.state.sent(api="custom_send") == []


def test_no_template_and_no_window_is_skipped(dapp: Flask, sandbox: SandboxServer) -> None:
    user = person(dapp, sandbox)
    notice_id = notify(dapp, [user], template=None, values=None)
    drain(dapp)
    assert progress(dapp, notice_id).skipped == {"no_channel": 1}
    (row,) = rows(dapp, notice_id)
    assert row.payload == {"unusable": ["customer_service:45015"]}


def test_long_values_are_shortened_to_wechat_rules(dapp: Flask, sandbox: SandboxServer) -> None:
    user = person(dapp, sandbox, follower=False, mp=True, credit=SUB_TID)
    notify(dapp, [user], values={**REMINDER, "activity": "青年读书会：" + "长" * 40 + "\n第二行"})
    drain(dapp)
    (sent,) = sandbox.state.sent(api="subscribe_send", accepted=True)
    value = sent.payload["data"]["thing1"]["value"]
    assert len(value) == 20 and value.endswith("…") and "\n" not in value


def test_value_that_cannot_fit_skips_that_channel(dapp: Flask, sandbox: SandboxServer) -> None:
    user = person(dapp, sandbox, mp=True, credit=SUB_TID)
    notice_id = notify(dapp, [user], values={**REMINDER, "start": "明天下午"})  # not a time WeChat accepts
    drain(dapp)
    assert sandbox.state.sent(api="subscribe_send") == []  # never sent to be refused with 47003
    (row,) = rows(dapp, notice_id)
    assert row.status == "skipped" and row.reason == "no_channel"
    assert any("time2" in item for item in row.payload["unusable"])  # type: ignore[index]


def test_43101_clears_the_credit_and_falls_back(dapp: Flask, sandbox: SandboxServer) -> None:
    user = person(dapp, sandbox, credit=SUB_TID)  # OA follower with a credit in our ledger …
    sandbox.state.grant_credit(user.oa_openid, SUB_TID, -1)  # type: ignore[arg-type]  # … that WeChat no longer has
    notice_id = notify(dapp, [user])
    drain(dapp)
    assert [m.errcode for m in sandbox.state.sent(api="bizsend")] == [43101]
    assert list(received(sandbox, "template_send")) == [user.oa_openid]
    (row,) = rows(dapp, notice_id)
    assert (row.status, row.channel) == ("sent", "template")
    with dapp.app_context():
        credit = db.session.scalars(select(SubscriptionCredit)).one()
        assert (credit.credits, credit.last_status) == (0, "refused")
        db.session.remove()


def test_45047_falls_back_to_the_next_channel(dapp: Flask, sandbox: SandboxServer) -> None:
    user = person(dapp, sandbox, window=True)
    for _ in range(5):  # WeChat's count for the window is used up, ours does not know it yet
        sandbox.state.use_window(user.oa_openid)  # type: ignore[arg-type]
    notice_id = notify(dapp, [user])
    drain(dapp)
    assert [m.errcode for m in sandbox.state.sent(api="custom_send")] == [45047]
    (row,) = rows(dapp, notice_id)
    assert (row.status, row.channel) == ("sent", "template")
    assert dapp.extensions["wechat_client"].window.remaining(user.oa_openid)[0] == 0  # closed after 45047


def test_recipient_refusal_on_the_last_channel_fails_with_the_code(
    dapp: Flask, sandbox: SandboxServer
) -> None:
    user = person(dapp, sandbox)
    sandbox.state.unfollow(user.oa_openid)  # type: ignore[arg-type]
    notice_id = notify(dapp, [user])
    drain(dapp)
    p = progress(dapp, notice_id)
    assert p.failed == {"43004": 1} and p.done
