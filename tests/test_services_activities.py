"""Activities through the services: capacity under concurrency, waitlist promotion, idempotency, rules."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.extensions import db
from services import activities, notices
from services.errors import Closed, DeadlinePassed, Invalid, InvalidTransition, NotEligible, NotFound
from services.models import Activity, Signup, StatusChange, UserNotice
from tests.factories import make_activity, make_user, make_users


@pytest.fixture
def engine(db_session: Session) -> Iterator[Engine]:
    """A pool wide enough for many threads, each with its own connection and session."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        eng = create_engine(url, pool_size=50, max_overflow=0)

        @event.listens_for(eng, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute("PRAGMA foreign_keys=ON")
    else:
        eng = create_engine(url, pool_size=50, max_overflow=0, pool_timeout=30)
    yield eng
    eng.dispose()


def run_concurrently(engine: Engine, jobs: list[Callable[[Session], Any]]) -> list[Any]:
    """All jobs start together (a barrier), each in its own thread and session."""
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[Session], Any]) -> Any:
        with Session(engine) as session:
            barrier.wait()
            return job(session)

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return [f.result() for f in [pool.submit(run, job) for job in jobs]]


def _sign_up(user_id: int, activity_id: int) -> Callable[[Session], str]:
    def job(session: Session) -> str:
        from services.models import User

        user = session.get(User, user_id)
        assert user is not None
        return activities.sign_up(session, user, activity_id).status

    return job


def test_200_simultaneous_signups_for_20_seats(db_session: Session, engine: Engine) -> None:
    activity = make_activity(db_session, capacity=20)
    users = make_users(db_session, 200)
    statuses = run_concurrently(engine, [_sign_up(u.id, activity.id) for u in users])
    assert Counter(statuses) == {"confirmed": 20, "waitlisted": 180}
    db_session.expire_all()
    rows = db_session.scalars(select(Signup).where(Signup.activity_id == activity.id)).all()
    assert len(rows) == 200 and len({r.user_id for r in rows}) == 200
    assert Counter(r.status for r in rows) == {"confirmed": 20, "waitlisted": 180}
    assert db_session.get(Activity, activity.id).confirmed == 20  # type: ignore[union-attr]


def test_double_signup_from_two_threads_makes_one_row(db_session: Session, engine: Engine) -> None:
    activity = make_activity(db_session, capacity=5)
    user = make_user(db_session)
    statuses = run_concurrently(engine, [_sign_up(user.id, activity.id) for _ in range(2)])
    assert statuses == ["confirmed", "confirmed"]
    db_session.expire_all()
    count = db_session.scalar(
        select(func.count()).select_from(Signup).where(Signup.activity_id == activity.id)
    )
    assert count == 1
    assert db_session.get(Activity, activity.id).confirmed == 1  # type: ignore[union-attr]


def test_cancel_promotes_exactly_the_longest_waiting(db_session: Session) -> None:
    activity = make_activity(db_session, capacity=1)
    first, second, third = (make_user(db_session) for _ in range(3))
    assert activities.sign_up(db_session, first, activity.id).status == "confirmed"
    assert activities.sign_up(db_session, second, activity.id).status == "waitlisted"
    assert activities.sign_up(db_session, third, activity.id).status == "waitlisted"
    sent: list[tuple[int, str]] = []
    notices.set_sender(lambda user, title, body: sent.append((user.id, title)) or True)

    cancelled = activities.cancel_signup(db_session, first, activity.id)
    assert cancelled.status == "cancelled"
    by_user = {s.user_id: s.status for s in db_session.scalars(select(Signup))}
    assert by_user == {first.id: "cancelled", second.id: "confirmed", third.id: "waitlisted"}
    assert db_session.get(Activity, activity.id).confirmed == 1  # type: ignore[union-attr]
    assert sent == [(second.id, "候补成功通知")]
    notice = db_session.scalars(select(UserNotice)).one()
    assert notice.user_id == second.id and notice.delivered_via == "custom"
    changes = db_session.scalars(
        select(StatusChange).where(StatusChange.subject == "signup").order_by(StatusChange.id)
    ).all()
    assert [(c.from_status, c.to_status) for c in changes][-2:] == [
        ("confirmed", "cancelled"),
        ("waitlisted", "confirmed"),
    ]

    # Cancelling twice changes nothing; a waitlisted person's cancel promotes nobody.
    activities.cancel_signup(db_session, first, activity.id)
    activities.cancel_signup(db_session, third, activity.id)
    assert db_session.get(Activity, activity.id).confirmed == 1  # type: ignore[union-attr]


def test_cancel_without_waitlist_frees_the_seat_and_resignup_reuses_the_row(db_session: Session) -> None:
    activity = make_activity(db_session, capacity=1)
    user = make_user(db_session)
    row = activities.sign_up(db_session, user, activity.id)
    activities.cancel_signup(db_session, user, activity.id)
    assert activities.seats_left(db_session.get(Activity, activity.id)) == 1  # type: ignore[arg-type]
    again = activities.sign_up(db_session, user, activity.id)
    assert again.id == row.id and again.status == "confirmed"


def test_sender_failure_keeps_the_change_and_the_inbox(db_session: Session) -> None:
    activity = make_activity(db_session, capacity=1)
    a, b = make_user(db_session), make_user(db_session)
    activities.sign_up(db_session, a, activity.id)
    activities.sign_up(db_session, b, activity.id)

    def broken(*_: Any) -> bool:
        raise RuntimeError("wechat down")

    notices.set_sender(broken)
    activities.cancel_signup(db_session, a, activity.id)
    assert db_session.scalars(select(Signup).where(Signup.user_id == b.id)).one().status == "confirmed"
    assert db_session.scalars(select(UserNotice)).one().delivered_via == "inbox"


def test_full_without_waitlist_is_closed(db_session: Session) -> None:
    activity = make_activity(db_session, capacity=1, waitlist=False)
    activities.sign_up(db_session, make_user(db_session), activity.id)
    with pytest.raises(Closed):
        activities.sign_up(db_session, make_user(db_session), activity.id)
    assert db_session.scalar(select(func.count()).select_from(Signup)) == 1


def test_rules_deadline_status_eligibility(db_session: Session) -> None:
    user = make_user(db_session, age_band="14to17", district="东城区")
    past = make_activity(db_session, signup_deadline=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(DeadlinePassed):
        activities.sign_up(db_session, user, past.id)
    started = make_activity(db_session, starts_at=datetime.now(UTC) - timedelta(minutes=5))
    with pytest.raises(DeadlinePassed):
        activities.sign_up(db_session, user, started.id)
    closed = make_activity(db_session, status="closed")
    with pytest.raises(Closed):
        activities.sign_up(db_session, user, closed.id)
    draft = make_activity(db_session, status="draft")
    with pytest.raises(NotFound):
        activities.sign_up(db_session, user, draft.id)
    adults = make_activity(db_session, age_min=18)
    with pytest.raises(NotEligible) as exc:
        activities.sign_up(db_session, user, adults.id)
    assert exc.value.code == "not_eligible" and "18" in exc.value.message
    locals_only = make_activity(db_session, residents_of="西城区")
    with pytest.raises(NotEligible):
        activities.sign_up(db_session, user, locals_only.id)
    # Unknown profile data passes: staff check at the door.
    unknown = make_user(db_session, age_band=None, district=None)
    assert activities.sign_up(db_session, unknown, adults.id).status == "confirmed"


def test_staff_lifecycle_and_cancel_tells_everyone(db_session: Session) -> None:
    starts = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    activity = activities.create_activity(
        db_session,
        {
            "title": "读书会",
            "category": "读书会",
            "location": "图书馆",
            "district": "西城区",
            "starts_at": starts,
            "capacity": "2",
        },
        "staff:li",
    )
    assert activity.status == "draft"
    with pytest.raises(InvalidTransition):
        activities.close_activity(db_session, activity.id, "staff:li")
    activities.publish_activity(db_session, activity.id, "staff:li")
    people = [make_user(db_session) for _ in range(3)]
    for person in people:
        activities.sign_up(db_session, person, activity.id)
    activities.cancel_activity(db_session, activity.id, "staff:li", reason="天气原因")
    db_session.expire_all()
    assert {s.status for s in db_session.scalars(select(Signup))} == {"cancelled"}
    assert db_session.get(Activity, activity.id).confirmed == 0  # type: ignore[union-attr]
    assert db_session.scalar(select(func.count()).select_from(UserNotice)) == 3
    history = db_session.scalars(
        select(StatusChange.to_status).where(StatusChange.subject == "activity").order_by(StatusChange.id)
    ).all()
    assert history == ["draft", "published", "cancelled"]


def test_list_soonest_first_with_cursor_and_keyword(db_session: Session) -> None:
    now = datetime.now(UTC)
    for i in range(5):
        make_activity(
            db_session, title=f"非遗体验 {i}", category="非遗体验", starts_at=now + timedelta(days=5 - i)
        )
    make_activity(db_session, title="100%_乐趣", starts_at=now + timedelta(days=9))
    make_activity(db_session, title="过去的", starts_at=now - timedelta(days=1))
    first = activities.list_activities(db_session, category="非遗体验", limit=3)
    assert [a.title for a in first.items] == ["非遗体验 4", "非遗体验 3", "非遗体验 2"]
    second = activities.list_activities(db_session, category="非遗体验", limit=3, cursor=first.next_cursor)
    assert [a.title for a in second.items] == ["非遗体验 1", "非遗体验 0"] and second.next_cursor is None
    assert [a.title for a in activities.list_activities(db_session, keyword="%_").items] == ["100%_乐趣"]
    assert activities.list_activities(db_session, keyword="_x").items == []


def test_more_seats_promote_the_waitlist(db_session: Session) -> None:
    activity = make_activity(db_session, capacity=1)
    people = [make_user(db_session) for _ in range(4)]
    for person in people:
        activities.sign_up(db_session, person, activity.id)
    with pytest.raises(Invalid):
        activities.update_activity(db_session, activity.id, {"capacity": 0}, "staff:li")
    activities.update_activity(db_session, activity.id, {"capacity": 3}, "staff:li")
    db_session.expire_all()
    statuses = [db_session.scalars(select(Signup).where(Signup.user_id == p.id)).one().status for p in people]
    assert statuses == ["confirmed", "confirmed", "confirmed", "waitlisted"]
    assert db_session.get(Activity, activity.id).confirmed == 3  # type: ignore[union-attr]
    assert db_session.scalar(select(func.count()).select_from(UserNotice)) == 2
