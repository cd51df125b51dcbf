"""Demo micro-wishes: on the wall, clearly marked as samples, anonymised, idempotent, removed by reset."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services import wishes
from services.models_wishes import Wish
from services.seed import seed_demo


def test_sample_wishes_are_on_the_wall_marked_and_anonymised(db_session: Session) -> None:
    report = seed_demo(db_session)
    assert report.wishes >= 6
    wall = wishes.list_wall(db_session, limit=50).items
    assert len(wall) == report.wishes
    views = [wishes.public_view(w) for w in wall]
    assert all(w.is_sample for w in wall) and all(v.item.startswith("【示例】") for v in views)
    items = " ".join(v.item for v in views)
    for thing in ("书包", "课外书", "运动鞋", "二手电脑"):
        assert thing in items
    # Written as staff publish: no full name, school or phone; passed our own keyword list.
    assert all(w.beneficiary_name is None and w.school is None and w.contact_phone is None for w in wall)
    assert {w.safety_suggest for w in wall} == {"pass"}
    assert all(w.guardian_consent_at is not None for w in wall if w.age_band == "under14")
    assert seed_demo(db_session).wishes == 0  # idempotent
    reset = seed_demo(db_session, reset=True)
    assert reset.wishes == report.wishes
    assert db_session.scalar(select(func.count()).select_from(Wish)) == report.wishes


def test_cli_reports_and_removes_sample_wishes(app: Flask, db_session: Session) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed", "--demo"])
    assert first.exit_code == 0 and "micro-wish(es) added" in first.output
    assert runner.invoke(args=["seed", "--reset"]).exit_code == 0
    assert db_session.scalar(select(func.count()).select_from(Wish)) == 0
