"""The role matrix: every /console route (read from the app's URL map, so new screens are covered as they
are added) refuses anonymous visitors (to the login page), refuses the wrong role (403) and serves the
right one. URL arguments come from SAMPLE_ARGS in tests/console_fixtures.py."""

from __future__ import annotations

from typing import Any

from flask import Flask, url_for
from werkzeug.routing import Rule

from console.auth import PUBLIC
from services.models_staff import ROLES, StaffUser
from services.staff import has_role
from tests.console_fixtures import *  # noqa: F403
from tests.console_fixtures import SAMPLE_ARGS, StaffClient

# POSTs that end the session they are sent from: checked last, once.
ENDS_SESSION = {"console.logout"}


def console_rules(app: Flask) -> list[Rule]:
    rules = [
        r for r in app.url_map.iter_rules() if r.rule.startswith("/console") and r.endpoint not in PUBLIC
    ]
    return sorted(rules, key=lambda r: (r.endpoint in ENDS_SESSION, r.rule))


def allowed(role: str, required: frozenset[str]) -> bool:
    return has_role(StaffUser(username="x", roles=role, active=True), *required)


def url_of(app: Flask, rule: Rule) -> str:
    missing = sorted(set(rule.arguments) - set(SAMPLE_ARGS))
    assert not missing, f"{rule.rule}: add {missing} to SAMPLE_ARGS in tests/console_fixtures.py"
    values = {name: SAMPLE_ARGS[name](app) for name in rule.arguments}
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def is_login_redirect(response: Any) -> bool:
    return response.status_code == 302 and "/console/login" in response.headers.get("Location", "")


def test_every_console_view_declares_its_roles(console_app: Flask) -> None:
    undeclared = [
        r.endpoint
        for r in console_rules(console_app)
        if not getattr(console_app.view_functions[r.endpoint], "required_roles", None)
    ]
    assert undeclared == []


def test_role_matrix(console_app: Flask, staff_login: Any, anonymous: Any) -> None:
    clients: dict[str, StaffClient] = {role: staff_login(role) for role in ROLES}
    problems: list[str] = []
    checked = 0
    for rule in console_rules(console_app):
        url = url_of(console_app, rule)
        required = console_app.view_functions[rule.endpoint].required_roles
        for method in sorted({"GET", "POST"} & set(rule.methods or ())):
            response = anonymous.open(url, method=method)
            json_door = url.endswith(".json")
            if not (response.status_code == 401 if json_door else is_login_redirect(response)):
                problems.append(f"anonymous {method} {url}: {response.status_code}")
            for role, client in clients.items():
                response = client.get(url) if method == "GET" else client.post(url, data={})
                checked += 1
                if not allowed(role, required):
                    if response.status_code != 403:
                        problems.append(f"{role} {method} {url}: {response.status_code}, expected 403")
                elif method == "GET":
                    if response.status_code == 302 and not is_login_redirect(response):
                        continue  # e.g. /console/ → the dashboard
                    if response.status_code != 200:
                        problems.append(f"{role} GET {url}: {response.status_code}, expected 200")
                elif rule.endpoint in ENDS_SESSION:
                    if not is_login_redirect(response) or not is_login_redirect(
                        client.get("/console/dashboard")
                    ):
                        problems.append(f"{role} POST {url}: {response.status_code}, still signed in")
                elif response.status_code in (401, 403) or is_login_redirect(response):
                    problems.append(f"{role} POST {url}: {response.status_code}, refused")
    assert checked > 0
    assert problems == [], "\n".join(problems)


def test_console_home_and_unknown_pages(anonymous: Any, viewer: StaffClient) -> None:
    assert is_login_redirect(anonymous.get("/console/"))
    assert viewer.get("/console/").headers["Location"].endswith("/console/dashboard")
    missing = viewer.get("/console/no-such-page")
    assert missing.status_code == 404
    assert "没有找到" in missing.get_data(as_text=True)
    assert "Traceback" not in missing.get_data(as_text=True)
    wrong_method = viewer.get("/console/logout")
    assert wrong_method.status_code == 405 and "不支持这个操作" in wrong_method.get_data(as_text=True)
    api_missing = anonymous.get("/api/v1/no-such-thing")  # the API keeps its own envelope
    assert api_missing.status_code == 404 and api_missing.mimetype == "application/json"
