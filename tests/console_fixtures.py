"""Fixtures for console tests: an app, staff of each role signed in through the login form, and a client
that adds the CSRF token to every POST. Use them from any test module:

    from tests.console_fixtures import *  # noqa: F403  (fixtures: console_app, staff_login, admin, editor, …)

    def test_something(editor):
        page = editor.get("/console/activities")
        response = editor.post("/console/activities/new", data={...})

`SAMPLE_ARGS` tells the role-matrix test (tests/test_console_roles.py) how to fill URL arguments: add an
entry for every new `<arg>` in a console route, returning the id of a row that exists (made with `app`).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.extensions import db
from services.models import HelpCase
from services.models_staff import AuditLog, HelpCaseNote, StaffUser
from services.staff import create_staff
from tests.conftest import AppFactory, wipe_domain_tables

__all__ = [
    "SAMPLE_ARGS",
    "StaffClient",
    "admin",
    "anonymous",
    "console_app",
    "counselor",
    "editor",
    "staff_login",
    "viewer",
    "wipe_console",
]

PASSWORD = "correct-horse-42"
CONSOLE_TABLES = (HelpCaseNote, AuditLog, StaffUser, HelpCase)
_names = itertools.count(1)


def wipe_console(app: Flask) -> None:
    with app.app_context():
        for model in CONSOLE_TABLES:
            db.session.execute(delete(model))
        db.session.commit()
        db.session.remove()


@dataclass
class StaffClient:
    """A browser session of one staff member: `post` sends the session's CSRF token like the forms do."""

    app: Flask
    client: Any
    username: str
    roles: str

    @property
    def csrf(self) -> str:
        with self.client.session_transaction() as session:
            return str(session["csrf_token"])

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        if "json" in kwargs:
            headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
            return self.client.post(path, headers=headers, **kwargs)
        return self.client.post(path, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)

    def post_without_csrf(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.client.post(path, data=data or {}, **kwargs)


def login(app: Flask, username: str, password: str = PASSWORD) -> Any:
    """A fresh test client signed in through the login form (GET for the token, then POST)."""
    client = app.test_client()
    client.get("/console/login")
    with client.session_transaction() as session:
        token = session["csrf_token"]
    response = client.post(
        "/console/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def create(app: Flask, roles: str, username: str | None = None, password: str = PASSWORD) -> str:
    username = username or f"{roles.split()[0]}{next(_names)}"
    with app.app_context():
        create_staff(db.session, username, password, roles, actor="cli", display_name=username)
        db.session.remove()
    return username


@pytest.fixture
def console_app(make_app: AppFactory) -> Iterator[Flask]:
    # Many logins from one test IP: the per-minute login limit has its own test.
    app = make_app(CONSOLE_LOGIN_RATE_PER_MINUTE=1000)
    wipe_console(app)
    yield app
    wipe_console(app)


@contextmanager
def domain_console_app(make_app: AppFactory, **settings: Any) -> Iterator[Flask]:
    """A console app whose domain tables (people, activities, notices …) start and end empty, for tests
    that reach past the console into sending and sign-ups; `settings` as for `make_app`."""
    app = make_app(CONSOLE_LOGIN_RATE_PER_MINUTE=1000, **settings)
    with app.app_context():
        wipe_domain_tables()
        db.session.remove()
    wipe_console(app)
    yield app
    wipe_console(app)
    with app.app_context():
        wipe_domain_tables()
        db.session.remove()


def audit_trail(session: Session, target: str) -> list[str]:
    """The audited actions on one record (`activity:3`), oldest first."""
    query = select(AuditLog.action).where(AuditLog.target == target).order_by(AuditLog.id)
    return list(session.scalars(query))


@pytest.fixture
def staff_login(console_app: Flask) -> Callable[..., StaffClient]:
    """`staff_login("editor")`, `staff_login("admin counselor", username="li")`: a new account, signed in."""

    def factory(roles: str, username: str | None = None) -> StaffClient:
        name = create(console_app, roles, username)
        return StaffClient(console_app, login(console_app, name), name, roles)

    return factory


@pytest.fixture
def admin(staff_login: Callable[..., StaffClient]) -> StaffClient:
    return staff_login("admin")


@pytest.fixture
def editor(staff_login: Callable[..., StaffClient]) -> StaffClient:
    return staff_login("editor")


@pytest.fixture
def counselor(staff_login: Callable[..., StaffClient]) -> StaffClient:
    return staff_login("counselor")


@pytest.fixture
def viewer(staff_login: Callable[..., StaffClient]) -> StaffClient:
    return staff_login("viewer")


@pytest.fixture
def anonymous(console_app: Flask) -> Any:
    return console_app.test_client()


# -- URL arguments for the role matrix: name -> a function making a row and returning the value -----------
def _help_case(app: Flask) -> int:
    with app.app_context():
        case = HelpCase(
            openid="o-matrix",
            kind="crisis",
            category="suicide",
            urgent=True,
            source_key=f"matrix-{uuid.uuid4().hex}",
            evidence="不想活了",
            transcript=[{"role": "user", "text": "不想活了", "at": 0}],
        )
        db.session.add(case)
        db.session.commit()
        case_id = case.id
        db.session.remove()
    return case_id


def _staff_username(app: Flask) -> str:
    return create(app, "viewer")


SAMPLE_ARGS: dict[str, Callable[[Flask], Any]] = {
    "case_id": _help_case,
    "username": _staff_username,
    "filename": lambda app: "console.css",
}


# The domain screens' URL arguments (traineeships, activities, events, wishes, broadcasts).
from tests.console_domain_samples import DOMAIN_SAMPLES  # noqa: E402

SAMPLE_ARGS.update(DOMAIN_SAMPLES)
