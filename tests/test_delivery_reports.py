"""WeChat's TEMPLATESENDJOBFINISH report, pushed to the webhook, settles the template send it names."""

from __future__ import annotations

import time

from flask import Flask

from bot.extensions import db
from sandbox import SandboxServer
from services import delivery
from tests.conftest import AES_KEY, APPID, TOKEN
from tests.delivery_support import dapp_fixture, drain, person, rows  # noqa: F401
from tests.wechat_factory import WeChatPusher, event_xml

REMINDER = {"activity": "读书会", "start": "2026年12月5日 14:00", "place": "西城区青年汇"}


def broadcast(app: Flask, users: list[object]) -> int:
    with app.app_context():
        notice = delivery.create_notice(
            db.session,
            kind="reminder",
            title="活动提醒",
            body="您报名的读书会明天下午开始。",
            audience=[u.id for u in users],  # type: ignore[attr-defined]
            template="activity_reminder",
            values=REMINDER,
            created_by="test",
        ).id
        db.session.remove()
    return notice


def progress_when(app: Flask, notice_id: int, check: object, timeout: float = 5.0) -> delivery.NoticeProgress:
    """The report is recorded off the webhook thread: wait for it."""
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            p = delivery.notice_progress(db.session, notice_id)
            db.session.remove()
        if check(p) or time.monotonic() > deadline:  # type: ignore[operator]
            return p
        time.sleep(0.02)


def test_failed_report_turns_a_sent_template_into_failed(dapp: Flask, sandbox: SandboxServer) -> None:
    blocked, fine = person(dapp, sandbox), person(dapp, sandbox)
    notice_id = broadcast(dapp, [blocked, fine])
    drain(dapp)
    by_user = {r.user_id: r for r in rows(dapp, notice_id)}
    assert {r.channel for r in by_user.values()} == {"template"}
    assert all(r.status == "sent" and r.wechat_msgid for r in by_user.values())

    wechat = WeChatPusher(dapp.test_client(), TOKEN, APPID, AES_KEY, sandbox=sandbox)
    report = event_xml(
        "TEMPLATESENDJOBFINISH",
        openid=blocked.oa_openid,
        MsgID=by_user[blocked.id].wechat_msgid,
        Status="failed:user block",
    )
    assert wechat.push(report).is_success
    ok = event_xml(
        "TEMPLATESENDJOBFINISH", openid=fine.oa_openid, MsgID=by_user[fine.id].wechat_msgid, Status="success"
    )
    assert wechat.push(ok).is_success

    p = progress_when(dapp, notice_id, lambda p: p.failed)
    assert (p.sent, p.failed, p.done) == (1, {"failed:user block": 1}, True)
    assert {r.user_id: r.status for r in rows(dapp, notice_id)} == {blocked.id: "failed", fine.id: "sent"}


def test_report_for_an_unknown_msgid_changes_nothing(dapp: Flask, sandbox: SandboxServer) -> None:
    user = person(dapp, sandbox)
    notice_id = broadcast(dapp, [user])
    drain(dapp)
    wechat = WeChatPusher(dapp.test_client(), TOKEN, APPID, AES_KEY, sandbox=sandbox)
    stray = event_xml(
        "TEMPLATESENDJOBFINISH", openid=user.oa_openid, MsgID="999999999", Status="failed: system failed"
    )
    assert wechat.push(stray).is_success
    time.sleep(0.3)  # give the off-thread write its chance to (wrongly) change something
    [row] = rows(dapp, notice_id)
    assert (row.status, row.channel) == ("sent", "template")
