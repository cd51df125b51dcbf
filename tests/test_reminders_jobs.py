"""The scheduler's jobs, each by its effect: activity reminders once per sign-up and lead time (twice in a
row, in two overlapping runs, after a restart), the waitlist's end, undelivered status notices, wish claim
expiry, token refresh, retention purges and the staff digest."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from bot import jobs
from bot.extensions import db
from sandbox import SandboxServer
from services import delivery, reminder_jobs, reminders
from services.models import HelpCase, MessageLog, Signup, StatusChange, User, UserNotice
from services.models_delivery import Notice, Outbox
from tests.conftest import wipe_domain_tables
from tests.delivery_support import DELIVERY_SETTINGS, drain, open_window, person
from tests.factories import make_activity, make_users

NOW = datetime(2030, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
LEADS = [24.0, 2.0]


@pytest.fixture
def japp(make_app: Any) -> Iterator[Flask]:
    """An app set up for delivery (no retries or quiet hours); people and notices start and end empty."""
    app = make_app(**DELIVERY_SETTINGS)
    run(app, wipe_domain_tables)
    yield app
    run(app, wipe_domain_tables)


def run(app: Flask, work: Callable[[], Any]) -> Any:
    with app.app_context():
        try:
            return work()
        finally:
            db.session.remove()


def reminder_notices(app: Flask) -> list[tuple[str, list[int]]]:
    def work() -> list[tuple[str, list[int]]]:
        found = []
        for notice in db.session.scalars(select(Notice).where(Notice.kind == "reminder").order_by(Notice.id)):
            users = db.session.scalars(select(Outbox.user_id).where(Outbox.notice_id == notice.id))
            found.append((notice.dedup_key or "", sorted(users)))
        return found

    return list(run(app, work))


def signed_up(app: Flask, starts_in: timedelta, people: int, *, joined_before: timedelta = timedelta(days=3)):
    """An activity starting `starts_in` after NOW with `people` confirmed sign-ups made long before."""

    def work() -> tuple[int, list[int], list[int]]:
        activity = make_activity(db.session, starts_at=NOW + starts_in, capacity=people, confirmed=people)
        users = make_users(db.session, people)
        signups = [
            Signup(activity_id=activity.id, user_id=u.id, status="confirmed", queued_at=NOW - joined_before)
            for u in users
        ]
        db.session.add_all(signups)
        db.session.commit()
        return activity.id, [u.id for u in users], [s.id for s in signups]

    return run(app, work)


# -- activity reminders ------------------------------------------------------------------------------------
def test_each_signup_gets_each_lead_once_even_when_the_job_runs_again(japp: Flask) -> None:
    _, users, signups = signed_up(japp, timedelta(hours=20), 3)
    opted_out = users[2]
    run(
        japp,
        lambda: reminders.set_preferences(db.session, db.session.get(User, opted_out), ["activities"], False),
    )

    send = lambda now: run(japp, lambda: reminder_jobs.send_activity_reminders(db.session, now, LEADS))  # noqa: E731
    assert send(NOW) == 2
    assert send(NOW) == 0  # the second run (or a restarted scheduler) finds them sent
    assert send(NOW + timedelta(hours=10)) == 0  # still inside the 24 h window: nothing new
    assert send(NOW + timedelta(hours=18, minutes=30)) == 2  # the 2 h window opened
    assert send(NOW + timedelta(hours=19)) == 0
    assert send(NOW + timedelta(hours=21)) == 0  # started: no reminders any more

    assert reminder_notices(japp) == [
        (f"reminder:signup:{signups[0]}:24h", [users[0]]),
        (f"reminder:signup:{signups[1]}:24h", [users[1]]),
        (f"reminder:signup:{signups[0]}:2h", [users[0]]),
        (f"reminder:signup:{signups[1]}:2h", [users[1]]),
    ]


def test_two_overlapping_runs_queue_one_notice_per_signup_and_lead(japp: Flask) -> None:
    _, users, _ = signed_up(japp, timedelta(hours=5), 12)
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def instance() -> None:
        def work() -> int:
            barrier.wait(timeout=5)
            return reminder_jobs.send_activity_reminders(db.session, NOW, LEADS)

        counts.append(run(japp, work))

    threads = [threading.Thread(target=instance) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sum(counts) == 12
    found = reminder_notices(japp)
    assert len(found) == 12 and sorted(u for _, (u,) in found) == sorted(users)
    assert all(key.endswith(":24h") for key, _ in found)


def test_a_late_scheduler_sends_only_the_nearest_lead_and_late_signups_skip_passed_windows(
    japp: Flask,
) -> None:
    _, _, early = signed_up(japp, timedelta(hours=1), 1)  # the 24 h window passed unseen (scheduler down)
    _, _, late = signed_up(japp, timedelta(hours=10), 1, joined_before=timedelta(hours=1))
    assert run(japp, lambda: reminder_jobs.send_activity_reminders(db.session, NOW, LEADS)) == 1
    assert [key for key, _ in reminder_notices(japp)] == [f"reminder:signup:{early[0]}:2h"]
    # The person who signed up 11 h before the start gets the 2 h reminder, not a 24 h one.
    later = NOW + timedelta(hours=8, minutes=30)
    assert run(japp, lambda: reminder_jobs.send_activity_reminders(db.session, later, LEADS)) == 1
    assert [key for key, _ in reminder_notices(japp)][-1] == f"reminder:signup:{late[0]}:2h"


def test_a_reminder_reaches_the_person_through_the_delivery_engine(
    japp: Flask, sandbox: SandboxServer
) -> None:
    someone = person(japp, sandbox, window=True)
    starts = datetime.now(UTC) + timedelta(hours=3)

    def work() -> int:
        activity = make_activity(db.session, title="青年汇读书会", starts_at=starts, capacity=5, confirmed=1)
        db.session.add(
            Signup(
                activity_id=activity.id,
                user_id=someone.id,
                status="confirmed",
                queued_at=starts - timedelta(days=2),
            )
        )
        db.session.commit()
        return reminder_jobs.send_activity_reminders(db.session, datetime.now(UTC), LEADS)

    assert run(japp, work) == 1
    drain(japp)
    sent = sandbox.state.sent(api="custom_send", openid=someone.oa_openid, accepted=True)
    assert len(sent) == 1
    assert "青年汇读书会" in sent[0].payload["text"]["content"]
    assert reminder_jobs.wechat_time(starts) in sent[0].payload["text"]["content"]


# -- waitlist deadline -------------------------------------------------------------------------------------
def test_at_the_signup_deadline_the_waitlist_is_told_once(japp: Flask) -> None:
    def setup() -> tuple[int, list[int], list[int]]:
        activity = make_activity(
            db.session,
            starts_at=NOW + timedelta(days=2),
            signup_deadline=NOW - timedelta(minutes=1),
            capacity=1,
            confirmed=1,
        )
        people = make_users(db.session, 3)
        rows = [
            Signup(activity_id=activity.id, user_id=people[0].id, status="confirmed"),
            Signup(activity_id=activity.id, user_id=people[1].id, status="waitlisted"),
            Signup(activity_id=activity.id, user_id=people[2].id, status="waitlisted"),
        ]
        db.session.add_all(rows)
        db.session.commit()
        return activity.id, [p.id for p in people], [r.id for r in rows]

    activity_id, people, rows = run(japp, setup)
    # Not yet: an activity without a deadline keeps its waitlist until WAITLIST_CLOSE_HOURS before the start.
    close = lambda now: run(japp, lambda: reminder_jobs.close_waitlists(db.session, now, timedelta(hours=2)))  # noqa: E731
    assert close(NOW - timedelta(minutes=5)) == 0
    assert close(NOW) == 2
    assert close(NOW) == 0

    def check() -> None:
        statuses = dict(
            db.session.execute(
                select(Signup.id, Signup.status).where(Signup.activity_id == activity_id)
            ).all()
        )
        assert statuses == {rows[0]: "confirmed", rows[1]: "cancelled", rows[2]: "cancelled"}
        reasons = db.session.scalars(
            select(StatusChange.reason).where(
                StatusChange.subject == "signup", StatusChange.subject_id.in_(rows[1:])
            )
        ).all()
        assert reasons == ["候补未递补", "候补未递补"]
        notices = db.session.scalars(select(Notice).where(Notice.kind == "waitlist_closed")).all()
        assert len(notices) == 1
        told = db.session.scalars(select(Outbox.user_id).where(Outbox.notice_id == notices[0].id)).all()
        assert sorted(told) == people[1:]

    run(japp, check)


def test_without_a_deadline_the_waitlist_closes_before_the_start(japp: Flask) -> None:
    def setup() -> int:
        activity = make_activity(db.session, starts_at=NOW + timedelta(hours=3), capacity=1, confirmed=1)
        (waiting,) = make_users(db.session, 1)
        db.session.add(Signup(activity_id=activity.id, user_id=waiting.id, status="waitlisted"))
        db.session.commit()
        return activity.id

    run(japp, setup)
    close = lambda now: run(japp, lambda: reminder_jobs.close_waitlists(db.session, now, timedelta(hours=2)))  # noqa: E731
    assert close(NOW) == 0
    assert close(NOW + timedelta(hours=1, minutes=1)) == 1


# -- status notices the immediate path left undelivered ------------------------------------------------------
def test_undelivered_status_notices_are_forwarded_once(japp: Flask) -> None:
    def setup() -> tuple[int, int, int]:
        a, b, c = make_users(db.session, 3)
        stale = UserNotice(
            user_id=a.id,
            kind="application_status",
            title="见习申请进度",
            body="已录用",
            delivered_via="inbox",
        )
        queued = UserNotice(
            user_id=b.id,
            kind="application_status",
            title="见习申请进度",
            body="审核中",
            delivered_via="inbox",
        )
        muted = UserNotice(
            user_id=c.id,
            kind="application_status",
            title="见习申请进度",
            body="未录用",
            delivered_via="inbox",
        )
        db.session.add_all([stale, queued, muted])
        db.session.commit()
        # b's notice reached the outbox right after the change (the normal path); c turned traineeships off.
        delivery.create_notice(
            db.session,
            kind="application_status",
            title="见习申请进度",
            body="审核中",
            audience=[b.id],
            created_by="system",
        )
        reminders.set_preferences(db.session, c, ["traineeships"], False)
        return a.id, b.id, stale.id

    a, _, stale_id = run(japp, setup)
    later = datetime.now(UTC) + timedelta(minutes=5)
    forward = lambda: run(japp, lambda: jobs.status_notices(japp, later))  # noqa: E731
    assert forward() == 1
    assert forward() == 0

    def check() -> None:
        notice = db.session.scalars(
            select(Notice).where(Notice.dedup_key == f"status:user_notice:{stale_id}")
        ).one()
        assert db.session.scalars(select(Outbox.user_id).where(Outbox.notice_id == notice.id)).all() == [a]
        assert db.session.get(UserNotice, stale_id).delivered_via == "outbox"

    run(japp, check)


# -- wish claims, tokens, purges, digest -------------------------------------------------------------------
def test_wish_claim_expiry_returns_expired_claims(japp: Flask) -> None:
    from services.models_wishes import Wish

    def setup() -> int:
        (donor,) = make_users(db.session, 1)
        wish = Wish(
            on_behalf_of="self",
            alias="小雨",
            age_band="14to17",
            district="西城区",
            item="课外书",
            story="想读更多的书。",
            price_band="under100",
            safety_suggest="pass",
            safety_source="test",
            public_alias="小雨",
            public_item="课外书",
            public_story="想读更多的书。",
            status="claimed",
            approved_at=NOW - timedelta(days=30),
            claimed_by=donor.id,
            claimed_at=NOW - timedelta(days=20),
            claim_expires_at=NOW - timedelta(days=1),
        )
        db.session.add(wish)
        db.session.commit()
        return wish.id

    wish_id = run(japp, setup)
    assert run(japp, lambda: jobs.wish_claim_expiry(japp, NOW)) == 1
    assert run(japp, lambda: db.session.get(Wish, wish_id).status) == "approved"
    assert run(japp, lambda: jobs.wish_claim_expiry(japp, NOW)) == 0


def test_token_refresh_fetches_ahead_of_expiry(japp: Flask, sandbox: SandboxServer) -> None:
    client = japp.extensions["wechat_client"]
    assert client.tokens.cached() is None
    assert run(japp, lambda: jobs.token_refresh(japp, NOW)) == {
        "wechat_client": True,
        "miniprogram_client": True,
    }
    first = client.tokens.cached()
    assert first is not None
    assert run(japp, lambda: jobs.token_refresh(japp, NOW))["wechat_client"] is False  # not due yet


def test_retention_purge_deletes_old_messages_and_finished_payloads(japp: Flask) -> None:
    tag = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)

    def setup() -> int:
        for i, age in enumerate((200, 10)):
            db.session.add(
                MessageLog(
                    dedup_key=f"{tag}:{i}",
                    openid=f"o_{tag}",
                    msg_type="text",
                    content="你好",
                    payload={},
                    created_at=now - timedelta(days=age),
                )
            )
        (user,) = make_users(db.session, 1)
        notice = delivery.create_notice(
            db.session, kind="broadcast", title="通知", body="内容", audience=[user.id], created_by="test"
        )
        db.session.execute(
            Outbox.__table__.update()
            .where(Outbox.notice_id == notice.id)
            .values(status="sent", payload={"text": "内容"}, sent_at=now - timedelta(days=40))
        )
        db.session.commit()
        return notice.id

    notice_id = run(japp, setup)
    result = run(japp, lambda: jobs.retention_purge(japp, now))
    assert result["message_log"] >= 1 and result["outbox_payloads"] >= 1
    left = run(
        japp,
        lambda: db.session.scalars(select(MessageLog.dedup_key).where(MessageLog.openid == f"o_{tag}")).all(),
    )
    assert left == [f"{tag}:1"]
    row = run(japp, lambda: db.session.scalars(select(Outbox).where(Outbox.notice_id == notice_id)).one())
    assert row.payload is None and row.status == "sent"


@pytest.fixture
def no_open_cases(japp: Flask) -> Iterator[None]:
    def close_all() -> None:
        db.session.execute(HelpCase.__table__.update().values(status="closed"))
        db.session.commit()

    run(japp, close_all)
    yield
    run(japp, close_all)


def test_staff_digest_counts_open_cases_once_a_day(
    make_app: Any, sandbox: SandboxServer, no_open_cases: None
) -> None:
    app = make_app(STAFF_ALERT_OPENIDS="o_duty")
    assert run(app, lambda: jobs.staff_digest(app, NOW)) == 0  # nothing open: no message
    sandbox.state.add_follower("o_duty")
    open_window(app, sandbox, "o_duty")

    def setup() -> None:
        for kind, urgent, age in (("crisis", True, 5), ("callback", False, 30), ("human", False, 1)):
            db.session.add(
                HelpCase(
                    openid=f"o_{uuid.uuid4().hex[:6]}",
                    kind=kind,
                    urgent=urgent,
                    source_key=uuid.uuid4().hex,
                    created_at=NOW - timedelta(hours=age),
                )
            )
        db.session.commit()

    run(app, setup)
    assert run(app, lambda: jobs.staff_digest(app, NOW)) == 1
    assert run(app, lambda: jobs.staff_digest(app, NOW)) == 0  # a second leader the same day stays quiet
    (message,) = sandbox.state.sent(api="custom_send", openid="o_duty")
    text = message.payload["text"]["content"]
    assert "未结求助个案 3 个" in text and "紧急 1 个" in text and "30 小时" in text
    assert (
        run(
            app,
            lambda: db.session.scalar(
                select(func.count()).select_from(HelpCase).where(HelpCase.status == "open")
            ),
        )
        == 3
    )


def test_filter_wanted_drops_people_who_turned_the_topic_off(japp: Flask) -> None:
    def work() -> tuple[list[int], list[int], list[int], int, int]:
        a, b = make_users(db.session, 2)
        reminders.set_preferences(db.session, b, ["traineeships"], False)
        return (
            reminders.filter_wanted(db.session, [a.id, b.id, a.id], "application_status"),
            reminders.filter_wanted(db.session, [b.id, a.id], "waitlist_promoted"),
            reminders.filter_wanted(db.session, [], "wish_claimed"),
            a.id,
            b.id,
        )

    traineeship, activity, nobody, a, b = run(japp, work)
    assert traineeship == [a] and activity == sorted([a, b]) and nobody == []
    assert [
        reminders.topic_of(k) for k in ("wish_claimed", "match_promoted", "application_status", "reminder")
    ] == [
        "wishes",
        "matchmaking",
        "traineeships",
        "activities",
    ]
