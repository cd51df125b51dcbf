"""Schemathesis against `/api/openapi.json`: every operation, generated requests, no 5xx, no schema drift.

A stateless run through the Flask app (WSGI, no network): each generated case is sent with a valid bearer
token of a consenting user (renewed after the fuzzer logs out or erases that user), and half of the
generated ids are swapped for ids that exist, so the happy paths are exercised as well as the 404s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.api_fixtures import Api, make_api
from tests.conftest import AppFactory
from tests.matchmaking_helpers import INTRO, make_event

MAX_EXAMPLES = 40
CHECKS = (not_a_server_error, response_schema_conformance, status_code_conformance)
FORM = {
    "name": "张三",
    "phone": "13812345678",
    "school": "北京大学",
    "major": "金融学",
    "graduation_year": 2026,
}

WISH = {
    "on_behalf_of": "self",
    "age_band": "18to24",
    "alias": "小林",
    "district": "西城区",
    "item": "二手电脑",
    "story": "自学编程需要一台能用的电脑，二手的就很好。",
    "price_band": "300to1000",
}


@pytest.fixture
def fuzz_api(make_app: AppFactory, sandbox: Any) -> Iterator[Api]:
    # No rate limits here: the fuzzer sends far more than a person would, and 429 is tested elsewhere.
    yield from make_api(make_app, sandbox, API_LOGIN_RATE_PER_MINUTE=0, API_WRITE_RATE_PER_MINUTE=0)


@pytest.fixture
def openapi_3_1() -> Iterator[None]:
    schemathesis.experimental.OPEN_API_3_1.enable()
    yield
    schemathesis.experimental.OPEN_API_3_1.disable()


class Caller:
    """Holds a live session for the fuzzer and the ids of objects that exist."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.known: dict[str, int] = {}
        self.renew()

    def renew(self) -> None:
        user = self.api.consenting_user(education="bachelor")
        self.headers = user.headers
        self.user_id = user.user_id
        post = self.api.traineeship()
        activity = self.api.activity(capacity=3)
        application = user.post(f"/api/v1/traineeships/{post}/applications", json=FORM).get_json()
        user.post(f"/api/v1/activities/{activity}/signup")
        wish = user.post("/api/v1/wishes", json=WISH).get_json()
        self.api.query(lambda s: _approve_wish(s, wish["id"]))
        match_event = self.api.query(lambda s: make_event(s).id)
        profile = {"consent": True, "nickname": "小林", "age": 26, "gender": "male", "occupation": "金融"}
        self.api.client.put(
            "/api/v1/match/profile", headers=user.headers, json={**profile, "self_intro": INTRO}
        )
        self.known = {
            "traineeship_id": post,
            "activity_id": activity,
            "event_id": match_event,
            "application_id": application["id"],
            "notice_id": self.api.query(lambda s: _notice_for(s, user.user_id)),
            "wish_id": wish["id"],
        }

    def prepare(self, case: Any) -> None:
        for name, value in list((case.path_parameters or {}).items()):
            if name in self.known and isinstance(value, int) and value % 2 == 0:
                case.path_parameters[name] = self.known[name]
        case.headers = {**(case.headers or {}), **self.headers}

    def after(self, case: Any) -> None:
        operation = (case.method, case.path)
        if operation in {("DELETE", "/api/v1/me"), ("POST", "/api/v1/auth/logout")}:
            self.renew()
        elif operation == ("PATCH", "/api/v1/me"):
            # The fuzzer may have withdrawn consent or made the user a minor: give the next cases an adult.
            self.api.query(lambda s: _restore(s, self.user_id))


def _restore(session: Any, user_id: int) -> None:
    from services import users
    from services.models import User

    adult = {"age_band": "18to24", "birth_year": None, "education": "bachelor", "district": "西城区"}
    users.update_profile(session, session.get(User, user_id), privacy_consent=True, **adult)


def _approve_wish(session: Any, wish_id: int) -> None:
    from services import wishes

    wishes.approve_wish(session, wish_id, "staff:fuzz")


def _notice_for(session: Any, user_id: int) -> int:
    from services import notices
    from services.models import User

    return notices.notify(session, session.get(User, user_id), "test", "测试通知", "内容", None).id


def test_schemathesis_finds_no_server_errors_or_schema_violations(fuzz_api: Api, openapi_3_1: None) -> None:
    document = fuzz_api.client.get("/api/openapi.json").get_json()
    schema = schemathesis.openapi.from_dict(document, app=fuzz_api.app, validate_schema=True)
    caller = Caller(fuzz_api)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len(item) for item in document["paths"].values()) >= 17

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            caller.prepare(case)
            response = case.call()
            case.validate_response(response, checks=CHECKS)
            caller.after(case)

        run()
