"""Fixtures for the miniprogram API tests: an app, real logins against the sandbox, and listings to act on.

Rows are written straight into the tables (staff tooling is not what these tests are about); every test
starts and ends with the people/listing tables empty, so lists and counts are exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete

from bot.extensions import db
from services.models import (
    Activity,
    ApiSession,
    Application,
    Signup,
    StatusChange,
    Traineeship,
    User,
    UserNotice,
)
from services.models_delivery import Notice, Outbox, SubscriptionCredit
from services.models_matchmaking import MatchEvent, MatchProfile, MatchSignup
from services.models_wishes import Wish
from tests.conftest import MP_APPID, AppFactory

TABLES = (
    MatchSignup,
    MatchProfile,
    MatchEvent,
    Wish,
    Outbox,
    Notice,
    SubscriptionCredit,
    Signup,
    Application,
    StatusChange,
    UserNotice,
    ApiSession,
    Activity,
    Traineeship,
    User,
)


def wipe(app: Flask) -> None:
    with app.app_context():
        for model in TABLES:
            db.session.execute(delete(model))
        db.session.commit()
        db.session.remove()


@dataclass
class Api:
    """The test client plus helpers that go through the public door."""

    app: Flask
    client: Any
    sandbox: Any

    def login(self, openid: str | None = None) -> Session:
        code, openid = self.sandbox.state.issue_login_code(MP_APPID, openid)
        response = self.client.post("/api/v1/auth/login", json={"code": code})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        return Session(self, body["token"], body["user"]["id"], openid)

    def consenting_user(self, **profile: Any) -> Session:
        user = self.login()
        changes = {"privacy_consent": True, "age_band": "18to24", **profile}
        response = user.patch("/api/v1/me", json=changes)
        assert response.status_code == 200, response.get_json()
        return user

    def traineeship(self, **fields: Any) -> int:
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "title": "金融街银行 · 柜面见习",
            "employer": "金融街某银行",
            "district": "西城区",
            "field": "金融",
            "education": "bachelor",
            "stipend": 3000,
            "positions": 2,
            "description": "示例岗位",
            "status": "open",
            "is_sample": True,
            "published_at": now,
            "deadline": now + timedelta(days=30),
            **fields,
        }
        return self._add(Traineeship(**values))

    def activity(self, **fields: Any) -> int:
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "title": "社区青年汇 · 读书会",
            "category": "读书会",
            "description": "示例活动",
            "location": "西城区青年之家",
            "district": "西城区",
            "starts_at": now + timedelta(days=3),
            "capacity": 2,
            "confirmed": 0,
            "waitlist": True,
            "status": "published",
            "is_sample": True,
            **fields,
        }
        return self._add(Activity(**values))

    def _add(self, row: Any) -> int:
        with self.app.app_context():
            db.session.add(row)
            db.session.commit()
            row_id = int(row.id)
            db.session.remove()
        return row_id

    def query(self, fn: Any) -> Any:
        with self.app.app_context():
            try:
                return fn(db.session())
            finally:
                db.session.remove()


@dataclass
class Session:
    api: Api
    token: str
    user_id: int
    openid: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.api.client.get(path, headers=self.headers, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.api.client.post(path, headers=self.headers, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.api.client.patch(path, headers=self.headers, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.api.client.delete(path, headers=self.headers, **kwargs)


def assert_envelope(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """Every API error has the one envelope: a code, a Chinese message, maybe fields; never a traceback."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) <= {"code", "message", "fields"}
    assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    if code is not None:
        assert error["code"] == code, error
    return error


def make_api(make_app: AppFactory, sandbox: Any, **overrides: Any) -> Iterator[Api]:
    app = make_app(**overrides)
    wipe(app)
    yield Api(app, app.test_client(), sandbox)
    wipe(app)


@pytest.fixture(name="api")
def api_fixture(make_app: AppFactory, sandbox: Any) -> Iterator[Api]:
    yield from make_api(make_app, sandbox)
