"""Rows for the role-matrix test's URL arguments on the domain screens (see SAMPLE_ARGS in
tests/console_fixtures.py): each function makes a row with `app` and returns its id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from bot.extensions import db
from tests.factories import APPLY_FORM, make_activity, make_traineeship, make_user


def _made(app: Flask, make: Callable[[Any], int]) -> int:
    with app.app_context():
        try:
            return make(db.session)
        finally:
            db.session.remove()


def _post(app: Flask) -> int:
    return _made(app, lambda s: make_traineeship(s).id)


def _application(app: Flask) -> int:
    from services import traineeships

    def make(session: Any) -> int:
        post = make_traineeship(session)
        application, _ = traineeships.apply(session, make_user(session), post.id, **APPLY_FORM)
        return application.id

    return _made(app, make)


def _activity(app: Flask) -> int:
    return _made(app, lambda s: make_activity(s).id)


def _signup(app: Flask) -> int:
    from services import activities

    return _made(app, lambda s: activities.sign_up(s, make_user(s), make_activity(s).id).id)


def _notice(app: Flask) -> int:
    from services import delivery

    return _made(
        app,
        lambda s: (
            delivery.create_notice(
                s, kind="broadcast", title="样例", body="样例通知", audience=[], created_by="staff:matrix"
            ).id
        ),
    )


def _event(app: Flask) -> int:
    from services.matchmaking_staff import create_event

    return _made(
        app,
        lambda s: (
            create_event(
                s,
                {
                    "title": "样例交友活动",
                    "location": "青年之家",
                    "district": "西城区",
                    "starts_at": "2099-05-01 14:00",
                    "capacity": "10",
                },
                "staff:matrix",
            ).id
        ),
    )


def _wish(app: Flask) -> int:
    from services import wishes

    data = {
        "on_behalf_of": "guardian",
        "age_band": "14to17",
        "alias": "小雨",
        "district": "西城区",
        "item": "一个新书包",
        "story": "书包背了三年已经破了，希望新学期能有一个结实的书包。",
        "price_band": "100to300",
    }
    return _made(app, lambda s: wishes.submit_wish(s, make_user(s), data).id)


def _import_job(app: Flask) -> str:
    """A finished (empty) import, so that its progress page and poll answer 200."""
    from console import import_jobs
    from services.importing import ImportReport

    return import_jobs.start(app, [], lambda session, rows, progress: ImportReport(), filename="样例.csv")


DOMAIN_SAMPLES: dict[str, Callable[[Flask], Any]] = {
    "post_id": _post,
    "application_id": _application,
    "activity_id": _activity,
    "signup_id": _signup,
    "job_id": _import_job,
    "notice_id": _notice,
    "event_id": _event,
    "wish_id": _wish,
    "match_signup_id": lambda app: (
        10**9
    ),  # reviewing needs a real sign-up; refusals are what the matrix checks
}
