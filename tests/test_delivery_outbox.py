"""The outbox: notices, progress, cancel, dedup, retries, quotas, quiet hours, leases and concurrency."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from bot.extensions import db
from bot.wechat.limits import CHINA
from sandbox import SandboxServer
from sandbox.faults import Fault
from services import activities, delivery, reminders
from services.delivery_worker import claim, drain_once
from services.errors import Invalid, NotFound
from services.models import User
from services.models_delivery import Outbox
from tests.conftest import HAVE_PG
from tests.delivery_support import DELIVERY_SETTINGS, dapp_fixture, drain, person, received, rows  # noqa: F401
from tests.factories import make_activity


def broadcast(app: Flask, audience: Any, **fields: Any) -> int:
    values: dict[str, Any] = {
        "kind": "broadcast",
        "title": "团区委通知",
        "body": "本周六青年之家开放日，欢迎参加。",
        "template": "broadcast",
        "created_by": "staff:wang",
        **fields,
    }
    with app.app_context():
        if isinstance(audience, list):
            audience = [u if isinstance(u, int) else u.id for u in audience]
        notice_id = delivery.create_notice(db.session, audience=audience, **values).id
        db.session.remove()
    return notice_id


def progress(app: Flask, notice_id: int) -> delivery.NoticeProgress:
    with app.app_context():
        try:
            return delivery.notice_progress(db.session, notice_id)
        finally:
            db.session.remove()


def test_create_validates_and_dedups(dapp: Flask, sandbox: SandboxServer) -> None:
    users = [person(dapp, sandbox) for _ in range(3)]
    with dapp.app_context():
        with pytest.raises(Invalid) as exc:
            delivery.create_notice(
                db.session, kind="x", title=" ", body="", audience=[1], template="nope", created_by="t"
            )
        assert set(exc.value.fields or {}) == {"title", "body", "template"}
        db.session.remove()
    key = "reminder:signup:12:24h"
    first = broadcast(dapp, users + users[:1], dedup_key=key)  # a repeated id is one recipient
    again = broadcast(dapp, users, dedup_key=key, title="又一次")
    assert first == again
    assert progress(dapp, first).total == 3 and len(rows(dapp, first)) == 3


def test_concurrent_creates_with_one_dedup_key_make_one_notice(dapp: Flask, sandbox: SandboxServer) -> None:
    users = [person(dapp, sandbox) for _ in range(2)]
    ids: list[int] = []

    def create() -> None:
        ids.append(broadcast(dapp, users, dedup_key="reminder:signup:7:2h"))

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1
    with dapp.app_context():
        assert db.session.scalar(select(func.count()).select_from(Outbox)) == 2
        db.session.remove()


def test_audience_as_a_query_is_copied_in_the_database(dapp: Flask, sandbox: SandboxServer) -> None:
    followers = [person(dapp, sandbox) for _ in range(4)]
    person(dapp, sandbox, follower=False, mp=True)
    audience = select(User.id).where(User.oa_openid.is_not(None))
    notice_id = broadcast(dapp, audience)
    assert {r.user_id for r in rows(dapp, notice_id)} == {u.id for u in followers}
    assert progress(dapp, notice_id).total == 4
    drain(dapp)
    p = progress(dapp, notice_id)
    assert (p.sent, p.pending, p.done, p.sent_by_channel) == (4, 0, True, {"template": 4})
    assert received(sandbox, "template_send") == {u.oa_openid: 1 for u in followers}


def test_cancel_skips_what_is_not_sent(dapp: Flask, sandbox: SandboxServer) -> None:
    users = [person(dapp, sandbox) for _ in range(3)]
    notice_id = broadcast(dapp, users)
    with dapp.app_context():
        notice = delivery.cancel_notice(db.session, notice_id, "staff:li")
        assert notice.status == "cancelled" and notice.cancelled_by == "staff:li"
        assert delivery.cancel_notice(db.session, notice_id, "staff:li").status == "cancelled"
        with pytest.raises(NotFound):
            delivery.cancel_notice(db.session, 10**9, "staff:li")
        assert [n.id for n in delivery.list_notices(db.session, created_by="staff:wang")] == [notice_id]
        db.session.remove()
    assert drain(dapp) == 0
    p = progress(dapp, notice_id)
    assert (p.skipped, p.done, p.status) == ({"cancelled": 3}, True, "cancelled")
    assert sandbox.state.sent() == []


def test_busy_is_retried_and_gives_up_after_max_attempts(make_app: Any, sandbox: SandboxServer) -> None:
    app = make_app(**DELIVERY_SETTINGS, DELIVERY_MAX_ATTEMPTS=3)
    ok_user, doomed = person(app, sandbox), person(app, sandbox)
    sandbox.state.set_fault("template_send", Fault(errcode=-1, times=1))
    first = broadcast(app, [ok_user])
    drain(app)  # busy once, then sent (backoff is 0 here)
    (row,) = rows(app, first)
    assert (row.status, row.attempts) == ("sent", 2)
    assert received(sandbox, "template_send") == {ok_user.oa_openid: 1}

    sandbox.state.set_fault("template_send", Fault(errcode=-1))
    second = broadcast(app, [doomed])
    drain(app)
    (row,) = rows(app, second)
    assert (row.status, row.attempts, row.error_code) == ("failed", 3, -1)
    assert progress(app, second).failed == {"-1": 1}
    sandbox.state.clear_faults()


def test_retry_waits_for_its_backoff(make_app: Any, sandbox: SandboxServer) -> None:
    app = make_app(**{**DELIVERY_SETTINGS, "DELIVERY_BACKOFF_SECONDS": 30.0})
    user = person(app, sandbox)
    sandbox.state.set_fault("template_send", Fault(errcode=-1, times=1))
    notice_id = broadcast(app, [user])
    assert drain(app) == 1  # the retry is not due yet
    (row,) = rows(app, notice_id)
    wait = row.next_attempt_at.replace(tzinfo=row.next_attempt_at.tzinfo or UTC) - datetime.now(UTC)
    assert row.status == "pending" and timedelta(seconds=20) < wait <= timedelta(seconds=30)
    assert row.error_code == -1


def test_daily_quota_stops_the_notice_until_it_clears(dapp: Flask, sandbox: SandboxServer) -> None:
    users = [person(dapp, sandbox) for _ in range(5)]
    sandbox.state.set_fault("template_send", Fault(errcode=45009))
    notice_id = broadcast(dapp, users)
    drain(dapp)
    sandbox.state.clear_faults()
    # Only the sends already in flight met the quota; the rest of the notice waits (stopped locally, not
    # hammering WeChat).
    in_flight = dapp.config["SETTINGS"].DELIVERY_CONCURRENCY
    assert 1 <= len(sandbox.state.sent(api="template_send")) <= in_flight
    p = progress(dapp, notice_id)
    assert (p.pending, p.sent, p.failed, p.done) == (5, 0, {}, False)
    soonest = min(r.next_attempt_at for r in rows(dapp, notice_id))
    soonest = soonest.replace(tzinfo=soonest.tzinfo or UTC)
    assert soonest > datetime.now(UTC) + timedelta(seconds=1)
    assert all(r.attempts == 0 for r in rows(dapp, notice_id))  # waiting for a quota is not an attempt


def test_latency_past_the_timeout_does_not_duplicate_a_template(
    make_app: Any, sandbox: SandboxServer
) -> None:
    app = make_app(**{**DELIVERY_SETTINGS, "HTTP_TIMEOUT_SECONDS": 0.3, "DELIVERY_BACKOFF_SECONDS": 1.0})
    user = person(app, sandbox)
    sandbox.state.set_fault("template_send", Fault(latency_ms=700, times=1))
    notice_id = broadcast(app, [user])
    drain(app)  # timed out: WeChat may have delivered it (it did, after 0.7 s)
    (row,) = rows(app, notice_id)
    assert row.status == "pending" and row.reason == "timeout"
    time.sleep(1.1)
    drain(app)
    (row,) = rows(app, notice_id)
    assert row.status == "sent"
    # The resend carried the same client_msg_id: WeChat answered it without delivering twice.
    assert received(sandbox, "template_send") == {user.oa_openid: 1}


def test_quiet_hours_hold_back_all_but_urgent(make_app: Any, sandbox: SandboxServer) -> None:
    now = datetime.now(CHINA)
    span = f"{(now - timedelta(hours=1)):%H:%M}-{(now + timedelta(hours=1)):%H:%M}"
    quiet = make_app(**{**DELIVERY_SETTINGS, "QUIET_HOURS": span})
    a, b = person(quiet, sandbox), person(quiet, sandbox)
    normal = broadcast(quiet, [a])
    urgent = broadcast(quiet, [b], urgent=True, title="紧急通知")
    drain(quiet)
    assert progress(quiet, urgent).sent == 1
    assert progress(quiet, normal).pending == 1
    assert list(received(sandbox)) == [b.oa_openid]
    # After quiet hours (an app without them), the held notice goes out.
    awake = make_app(**DELIVERY_SETTINGS)
    drain(awake)
    assert progress(awake, normal).sent == 1


def test_scheduled_notice_waits_for_its_time(dapp: Flask, sandbox: SandboxServer) -> None:
    user = person(dapp, sandbox)
    later = broadcast(dapp, [user], scheduled_at=datetime.now(UTC) + timedelta(hours=1))
    assert drain(dapp) == 0 and progress(dapp, later).pending == 1


def test_a_dead_workers_lease_returns_to_the_queue(make_app: Any, sandbox: SandboxServer) -> None:
    app = make_app(**{**DELIVERY_SETTINGS, "DELIVERY_LEASE_SECONDS": 0.5})
    users = [person(app, sandbox) for _ in range(3)]
    notice_id = broadcast(app, users)
    with app.app_context():
        taken = claim(db.engine, "dead-worker", 10, 0.5, datetime.now(UTC))
    assert len(taken) == 3
    assert drain_once(app, "alive") == 0  # leased: not for another worker yet
    time.sleep(0.6)
    assert drain(app, "alive") == 3
    assert all((r.status, r.attempts, r.lease_owner) == ("sent", 2, None) for r in rows(app, notice_id))
    assert received(sandbox, "template_send") == {u.oa_openid: 1 for u in users}


def test_outcome_of_a_lost_lease_is_not_written(dapp: Flask, sandbox: SandboxServer) -> None:
    """A worker that overran its lease must not overwrite the row another worker took over."""
    from services.delivery_channels import Outcome, Recipient
    from services.delivery_outcomes import record
    from services.delivery_worker import WorkerSettings

    user = person(dapp, sandbox)
    notice_id = broadcast(dapp, [user])
    with dapp.app_context():
        ((row_id, _, _, attempts),) = claim(db.engine, "slow", 10, 60, datetime.now(UTC))
        db.session.execute(update(Outbox).values(lease_owner="other"))
        db.session.commit()
        who = Recipient(row_id, notice_id, user.id, attempts, None, user.oa_openid)
        with db.engine.connect() as conn:
            record(conn, "slow", who, Outcome("failed", error_code=40037), WorkerSettings.from_app(dapp))
        db.session.remove()
    (row,) = rows(dapp, notice_id)
    assert (row.status, row.lease_owner, row.error_code) == ("sending", "other", None)


@pytest.mark.skipif(not HAVE_PG, reason="several workers need PostgreSQL's SKIP LOCKED")
def test_several_workers_never_send_to_anyone_twice(make_app: Any, sandbox: SandboxServer) -> None:
    app = make_app(**{**DELIVERY_SETTINGS, "DELIVERY_BATCH_SIZE": 10})
    # Customer-service messages: the sandbox would show a duplicate (templates are deduplicated by WeChat).
    users = [person(app, sandbox, window=True) for _ in range(120)]
    notice_id = broadcast(app, users)
    handled: dict[str, int] = {}

    def worker(name: str) -> None:
        handled[name] = drain(app, name, rounds=100)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(handled.values()) == 120 and sum(1 for n in handled.values() if n) >= 2
    assert received(sandbox, "custom_send") == {u.oa_openid: 1 for u in users}
    assert all(r.attempts == 1 and r.status == "sent" for r in rows(app, notice_id))


def test_service_notices_go_through_the_outbox(dapp: Flask, sandbox: SandboxServer) -> None:
    a, b = person(dapp, sandbox), person(dapp, sandbox)
    muted = person(dapp, sandbox)
    with dapp.app_context():
        activity = make_activity(db.session, capacity=5, status="published")
        for user in (a, b, muted):
            activities.sign_up(db.session, db.session.get(User, user.id), activity.id)  # type: ignore[arg-type]
        # 退订活动提醒: the inbox keeps the notice, no push goes out.
        reminders.set_preferences(db.session, db.session.get(User, muted.id), ["activities"], False)  # type: ignore[arg-type]
        activities.cancel_activity(db.session, activity.id, "staff:li", reason="场地维修")
        db.session.remove()
    drain(dapp)
    sent = sandbox.state.sent(api="template_send", accepted=True)
    assert sorted(m.openid for m in sent) == sorted([a.oa_openid, b.oa_openid])  # type: ignore[type-var]
    thing = sent[0].payload["data"]["thing1"]["value"]
    assert thing.startswith("很抱歉，您报名的活动") and len(thing) <= 20
    with dapp.app_context():
        (notice,) = delivery.list_notices(db.session, kind="activity_cancelled")
        assert (notice.total, notice.template, notice.created_by) == (2, "signup_result", "system")
        db.session.remove()


def test_cli_work_once_and_progress(dapp: Flask, sandbox: SandboxServer) -> None:
    users = [person(dapp, sandbox) for _ in range(2)]
    notice_id = broadcast(dapp, users)
    runner = dapp.test_cli_runner()
    result = runner.invoke(args=["delivery", "work", "--once", "--batch", "1"])
    assert result.exit_code == 0 and "handled 2 row(s)" in result.output
    result = runner.invoke(args=["delivery", "progress", str(notice_id)])
    assert result.exit_code == 0
    assert f"notice {notice_id} (active): total 2, pending 0, sending 0, sent 2" in result.output
    assert "sent by channel: template = 2" in result.output
    result = runner.invoke(args=["delivery", "progress", "999999999"])
    assert result.exit_code == 1 and "没有找到这条通知" in result.output
