"""Console broadcasts through HTTP against the sandbox: the live check of WeChat's value rules, sending to an
activity's sign-ups until the progress report is done (the delivery worker drained in process), scheduling
and cancelling, and who may do what."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from bot.extensions import db
from sandbox import SandboxServer
from services import activities, delivery
from services.eligibility import BEIJING
from services.models import User
from services.models_delivery import Notice, Outbox
from services.models_staff import AuditLog
from tests.conftest import AppFactory
from tests.console_fixtures import *  # noqa: F403
from tests.console_fixtures import domain_console_app
from tests.delivery_support import DELIVERY_SETTINGS, drain, person, received
from tests.factories import make_activity


@pytest.fixture
def console_app(make_app: AppFactory) -> Iterator[Flask]:
    """The console app with the delivery tests' fast settings (no pauses, no quiet hours)."""
    with domain_console_app(make_app, **DELIVERY_SETTINGS) as app:
        yield app


def _activity_with_people(app: Flask, sandbox: SandboxServer) -> tuple[int, list[User]]:
    """A published activity signed up by: one follower who wrote to us (window open), one follower who did
    not (a template message reaches them), and one miniprogram-only person without a credit (no channel)."""
    people = [
        person(app, sandbox, window=True),
        person(app, sandbox),
        person(app, sandbox, follower=False, mp=True),
    ]
    with app.app_context():
        activity_id = make_activity(db.session, title="周末读书会").id
        for p in people:
            activities.sign_up(db.session, db.session.get(User, p.id), activity_id)
        db.session.remove()
    return activity_id, people


def _message(activity_id: int, **extra: str) -> dict[str, str]:
    return {
        "mode": "template",
        "template": "broadcast",
        "title": "读书会改到三楼",
        "body": "本周六的读书会改在青年之家三楼，时间不变。",
        "audience": "activity",
        "activity_id": str(activity_id),
        "when": "now",
        **extra,
    }


def test_preview_checks_wechat_rules_and_counts_the_audience(
    editor: Any, console_app: Flask, sandbox: Any
) -> None:
    activity_id, _ = _activity_with_people(console_app, sandbox)
    ok = editor.post("/console/broadcasts/preview", json=_message(activity_id)).get_json()
    assert ok["ok"] is True and ok["problems"] == []
    assert ok["audience"]["count"] == 3 and "周末读书会" in ok["audience"]["label"]
    assert ok["text"].startswith("【读书会改到三楼】")
    (field, when) = ok["channels"]["template"]["fields"]
    assert field == {
        "key": "thing1",
        "type": "thing",
        "value": "读书会改到三楼",
        "problem": None,
        "shortened": False,
    }
    assert when["type"] == "time" and when["problem"] is None

    long_title = editor.post(
        "/console/broadcasts/preview",
        json=_message(activity_id, title="这是一个远远超过二十个字的通知标题，会被截短吗？"),
    ).get_json()
    (field, _) = long_title["channels"]["template"]["fields"]
    assert long_title["ok"] is True and field["shortened"] is True and len(field["value"]) == 20

    reminder = _message(
        activity_id,
        template="activity_reminder",
        value_activity="读书会",
        value_start="周六下午",
        value_place="三楼",
    )
    bad = editor.post("/console/broadcasts/preview", json=reminder).get_json()
    assert bad["ok"] is False
    assert any("time2" in p and "24 小时制" in p for p in bad["problems"])

    nobody = editor.post(
        "/console/broadcasts/preview", json=_message(activity_id, audience="profile")
    ).get_json()
    assert nobody["ok"] is False and nobody["audience"]["count"] is None
    assert editor.post("/console/broadcasts/preview", data={"x": "1"}).status_code == 400
    nul = editor.post(
        "/console/broadcasts/preview", json=_message(activity_id, title="读书\x00会", district="\x00")
    )
    assert nul.status_code == 200 and nul.get_json()["text"].startswith("【读书会】")


def test_broadcast_to_sign_ups_reaches_done_with_a_report(
    editor: Any, console_app: Flask, sandbox: Any
) -> None:
    activity_id, people = _activity_with_people(console_app, sandbox)
    compose = editor.get(f"/console/broadcasts/new?audience=activity&activity_id={activity_id}")
    assert compose.status_code == 200 and "周末读书会" in compose.text

    response = editor.post("/console/broadcasts/new", data=_message(activity_id))
    assert response.status_code == 302
    notice_id = int(response.headers["Location"].rsplit("/", 1)[1])
    before = editor.get(f"/console/broadcasts/{notice_id}/progress").get_json()
    assert before["state"] == "running" and before["total"] == 3 and before["percent"] == 0
    assert before["cancellable"] is True

    assert drain(console_app) == 3
    report = editor.get(f"/console/broadcasts/{notice_id}/progress").get_json()
    assert report["state"] == "done" and report["finished"] is True and report["percent"] == 100
    assert (report["sent"], report["skipped_count"], report["failed_count"]) == (2, 1, 0)
    assert sorted(report["channels"]) == ["客服消息：1", "模板消息：1"]
    assert report["skipped"] == ["无可用渠道（不在客服窗口、也没有订阅）：1"]
    assert report["cancellable"] is False
    got = received(sandbox)
    assert got[people[0].oa_openid] == 1 and got[people[1].oa_openid] == 1

    page = editor.get(f"/console/broadcasts/{notice_id}")
    assert 'data-progress-url="' in page.text and "发送完毕" in page.text
    listing = editor.get("/console/broadcasts")
    assert "读书会改到三楼" in listing.text and "100%" in listing.text
    with console_app.app_context():
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "broadcast.send")).one()
        assert entry.target == f"notice:{notice_id}" and entry.detail["recipients"] == 3
        db.session.remove()


def test_text_only_reaches_people_inside_their_window(editor: Any, console_app: Flask, sandbox: Any) -> None:
    activity_id, people = _activity_with_people(console_app, sandbox)
    response = editor.post("/console/broadcasts/new", data=_message(activity_id, mode="text"))
    notice_id = int(response.headers["Location"].rsplit("/", 1)[1])
    drain(console_app)
    report = editor.get(f"/console/broadcasts/{notice_id}/progress").get_json()
    assert (report["sent"], report["skipped_count"]) == (1, 2)
    assert list(received(sandbox)) == [people[0].oa_openid]


def test_schedule_then_cancel(editor: Any, console_app: Flask, sandbox: Any) -> None:
    activity_id, _ = _activity_with_people(console_app, sandbox)
    past = (datetime.now(BEIJING) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    refused = editor.post(
        "/console/broadcasts/new", data=_message(activity_id, when="later", scheduled_at=past)
    )
    assert refused.status_code == 400 and "晚于现在" in refused.text

    later = (datetime.now(BEIJING) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = editor.post(
        "/console/broadcasts/new", data=_message(activity_id, when="later", scheduled_at=later)
    )
    notice_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert drain(console_app) == 0  # not due yet
    scheduled = editor.get(f"/console/broadcasts/{notice_id}/progress").get_json()
    assert scheduled["state"] == "scheduled" and scheduled["cancellable"] is True

    assert editor.post(f"/console/broadcasts/{notice_id}/cancel").status_code == 302
    report = editor.get(f"/console/broadcasts/{notice_id}/progress").get_json()
    assert report["state"] == "cancelled" and report["skipped"] == ["已取消：3"] and report["percent"] == 100
    again = editor.post(f"/console/broadcasts/{notice_id}/cancel", follow_redirects=True)
    assert "已经发送完毕或已取消" in again.text
    with console_app.app_context():
        statuses = set(db.session.scalars(select(Outbox.status).where(Outbox.notice_id == notice_id)))
        assert statuses == {"skipped"}
        notice = db.session.get(Notice, notice_id)
        assert notice.status == "cancelled" and notice.cancelled_by == f"staff:{editor.username}"
        assert db.session.scalars(select(AuditLog).where(AuditLog.action == "broadcast.cancel")).one()
        db.session.remove()
    assert not received(sandbox)


def test_viewers_watch_but_cannot_send_and_other_notices_stay_hidden(
    viewer: Any, console_app: Flask, sandbox: Any
) -> None:
    activity_id, _ = _activity_with_people(console_app, sandbox)
    with console_app.app_context():
        mine = delivery.create_notice(
            db.session, kind="broadcast", title="公告", body="内容", audience=[], created_by="staff:x"
        ).id
        personal = delivery.create_notice(
            db.session,
            kind="application_status",
            title="见习申请进度",
            body="您已录用",
            audience=[],
            created_by="system",
        ).id
        db.session.remove()
    assert viewer.get("/console/broadcasts").status_code == 200
    assert viewer.get(f"/console/broadcasts/{mine}").status_code == 200
    assert viewer.get(f"/console/broadcasts/{personal}").status_code == 404
    assert viewer.get("/console/broadcasts/new").status_code == 403
    assert viewer.post("/console/broadcasts/new", data=_message(activity_id)).status_code == 403
    assert viewer.post("/console/broadcasts/preview", json=_message(activity_id)).status_code == 403
    assert viewer.post(f"/console/broadcasts/{mine}/cancel").status_code == 403
    with console_app.app_context():
        assert db.session.scalar(select(Notice).where(Notice.title == "读书会改到三楼")) is None
        db.session.remove()
