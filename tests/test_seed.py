"""Demo seed: realistic sample data, marked as sample, dated from today, idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services import activities, traineeships
from services.models import Activity, Traineeship
from services.seed import seed_demo
from tests.factories import make_traineeship, make_user


def counts(session: Session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(Traineeship)) or 0,
        session.scalar(select(func.count()).select_from(Activity)) or 0,
    )


def test_seed_is_marked_dated_and_idempotent(db_session: Session) -> None:
    real = make_traineeship(db_session, title="真实岗位")
    report = seed_demo(db_session)
    assert report.traineeships >= 10 and report.activities >= 8
    posts = db_session.scalars(select(Traineeship).where(Traineeship.is_sample.is_(True))).all()
    acts = db_session.scalars(select(Activity).where(Activity.is_sample.is_(True))).all()
    assert all(p.title.startswith("【示例】") for p in [*posts, *acts])
    assert {"金融", "医疗", "文化", "社区服务"} <= {p.field for p in posts}
    assert {"社区青年汇", "志愿服务", "读书会", "非遗体验"} <= {a.category for a in acts}
    # Listed like real data: open posts, upcoming activities.
    assert len(traineeships.list_traineeships(db_session, None, limit=50).items) == len(posts) + 1
    assert len(activities.list_activities(db_session, limit=50).items) == len(acts)
    assert all(a.starts_at.replace(tzinfo=a.starts_at.tzinfo or UTC) > datetime.now(UTC) for a in acts)

    before = counts(db_session)
    again = seed_demo(db_session)
    assert (again.traineeships, again.activities) == (0, 0) and counts(db_session) == before

    activities.sign_up(db_session, make_user(db_session), acts[0].id)
    reset = seed_demo(db_session, reset=True)
    assert (
        reset.removed == before[0] + before[1] - 1 + reset.match_events + reset.wishes
        and counts(db_session) == before
    )
    assert db_session.get(Traineeship, real.id) is not None  # real rows are never touched


def test_cli_seed_demo(app: Flask, db_session: Session) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed", "--demo"])
    assert first.exit_code == 0, first.output
    before = counts(db_session)
    second = runner.invoke(args=["seed", "--demo"])
    assert "0 traineeship(s), 0 activit(ies), 0 matchmaking event(s), 0 micro-wish(es) added" in second.output
    assert counts(db_session) == before
    assert runner.invoke(args=["seed", "--reset"]).exit_code == 0
    assert counts(db_session) == (0, 0)
