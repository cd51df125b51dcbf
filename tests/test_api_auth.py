"""Login against the sandbox's jscode2session, our own session tokens, and the error envelope everywhere."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from sandbox.faults import Fault
from services.models import ApiSession
from tests.api_fixtures import Api, api_fixture, assert_envelope, make_api  # noqa: F401
from tests.conftest import MP_APPID


def test_login_issues_our_own_token_never_the_session_key(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    code, openid = api.sandbox.state.issue_login_code(MP_APPID)
    with caplog.at_level(logging.DEBUG):
        response = api.client.post("/api/v1/auth/login", json={"code": code})
    assert "session_key" not in caplog.text
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"token", "expires_at", "user"}
    assert "session_key" not in response.get_data(as_text=True)
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC) + timedelta(days=29)
    assert body["user"]["privacy_consent"] is False

    rows = api.query(lambda s: list(s.scalars(select(ApiSession))))
    assert len(rows) == 1
    assert rows[0].token_hash == hashlib.sha256(body["token"].encode()).hexdigest()
    assert body["token"] not in rows[0].token_hash

    me = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.get_json()["id"] == body["user"]["id"]

    # The same person logging in again is the same user, with a second session.
    again = api.login(openid)
    assert again.user_id == body["user"]["id"] and again.token != body["token"]


def test_a_code_works_once(api: Api) -> None:
    code, _ = api.sandbox.state.issue_login_code(MP_APPID)
    assert api.client.post("/api/v1/auth/login", json={"code": code}).status_code == 200
    assert_envelope(api.client.post("/api/v1/auth/login", json={"code": code}), 400, "invalid_code")
    assert_envelope(api.client.post("/api/v1/auth/login", json={"code": "made-up"}), 400, "invalid_code")


def test_wechat_busy_is_503(api: Api) -> None:
    api.sandbox.state.set_fault("jscode2session", Fault(errcode=-1))
    code, _ = api.sandbox.state.issue_login_code(MP_APPID)
    assert_envelope(api.client.post("/api/v1/auth/login", json={"code": code}), 503, "wechat_unavailable")


def test_login_without_miniprogram_settings_is_503(make_app: Any, sandbox: Any) -> None:
    for api_ in make_api(make_app, sandbox, MINIPROGRAM_APPID=None, MINIPROGRAM_SECRET=None):
        response = api_.client.post("/api/v1/auth/login", json={"code": "x"})
        assert_envelope(response, 503, "miniprogram_not_configured")


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer ", "Basic abc", "Bearer not-a-token", "bearer x y"]
)
def test_missing_or_invalid_token_is_401(api: Api, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = api.client.get("/api/v1/me", headers=headers)
    assert_envelope(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_logout_revokes_only_that_session(api: Api) -> None:
    first = api.login()
    second = api.login(first.openid)
    assert first.post("/api/v1/auth/logout").status_code == 204
    assert_envelope(first.get("/api/v1/me"), 401)
    assert_envelope(first.post("/api/v1/auth/logout"), 401)
    assert second.get("/api/v1/me").status_code == 200


def test_expired_session_is_401(api: Api) -> None:
    user = api.login()

    def expire(session: Any) -> None:
        session.execute(update(ApiSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        session.commit()

    api.query(expire)
    assert_envelope(user.get("/api/v1/me"), 401, "unauthorized")


def test_session_ttl_comes_from_settings(make_app: Any, sandbox: Any) -> None:
    for api_ in make_api(make_app, sandbox, API_SESSION_TTL_SECONDS=120):
        code, _ = sandbox.state.issue_login_code(MP_APPID)
        body = api_.client.post("/api/v1/auth/login", json={"code": code}).get_json()
        left = datetime.fromisoformat(body["expires_at"]) - datetime.now(UTC)
        assert timedelta(seconds=100) < left <= timedelta(seconds=120)


def test_login_rate_limit_per_ip_429(make_app: Any, sandbox: Any) -> None:
    for api_ in make_api(make_app, sandbox, API_LOGIN_RATE_PER_MINUTE=2):
        for _ in range(2):
            api_.login()
        code, _ = sandbox.state.issue_login_code(MP_APPID)
        response = api_.client.post("/api/v1/auth/login", json={"code": code})
        assert_envelope(response, 429, "rate_limited")
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        # Another address has its own allowance.
        other = api_.client.post(
            "/api/v1/auth/login", json={"code": code}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
        )
        assert other.status_code == 200


def test_write_rate_limit_per_user_429(make_app: Any, sandbox: Any) -> None:
    for api_ in make_api(make_app, sandbox, API_WRITE_RATE_PER_MINUTE=3):
        user, other = api_.login(), api_.login()
        for _ in range(3):
            assert user.patch("/api/v1/me", json={"nickname": "小明"}).status_code == 200
        response = user.patch("/api/v1/me", json={"nickname": "小明"})
        assert_envelope(response, 429, "rate_limited")
        assert int(response.headers["Retry-After"]) >= 1
        assert user.get("/api/v1/me").status_code == 200  # reads are not limited
        assert other.patch("/api/v1/me", json={"nickname": "小红"}).status_code == 200


def test_envelope_for_routing_and_protocol_errors(api: Api) -> None:
    user = api.login()
    assert_envelope(api.client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert_envelope(api.client.get("/api/nope"), 404, "not_found")
    response = api.client.put("/api/v1/me")
    assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]
    assert_envelope(api.client.get("/api/v1/traineeships/0"), 404)
    assert_envelope(api.client.get("/api/v1/traineeships/99999999999"), 404)
    bad_json = user.patch("/api/v1/me", data="{nope", content_type="application/json")
    assert_envelope(bad_json, 400, "bad_json")
    form = user.patch("/api/v1/me", data={"nickname": "x"})
    assert_envelope(form, 415, "unsupported_media_type")
    big = user.patch("/api/v1/me", json={"nickname": "x" * 100_000})
    assert_envelope(big, 413, "payload_too_large")
    # Other doors keep their own error pages.
    assert api.client.get("/no-such-page").mimetype != "application/json"


def test_validation_errors_name_each_field_in_chinese(api: Api) -> None:
    response = api.client.post("/api/v1/auth/login", json={"code": "", "extra": 1})
    error = assert_envelope(response, 422, "validation_error")
    assert error["fields"] == {"code": "不能为空", "extra": "不支持该字段"}
    not_object = api.client.post("/api/v1/auth/login", json=["code"])
    assert assert_envelope(not_object, 422)["fields"] == {"body": "必须是 JSON 对象"}
    query = api.client.get("/api/v1/traineeships?limit=0&min_stipend=abc")
    assert assert_envelope(query, 422)["fields"] == {"limit": "不能小于 1", "min_stipend": "必须是整数"}


def test_unexpected_error_is_a_generic_500_logged_server_side(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from services import traineeships

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(traineeships, "list_traineeships", boom)
    with caplog.at_level(logging.ERROR):
        response = api.client.get("/api/v1/traineeships")
    error = assert_envelope(response, 500, "internal_error")
    assert "secret" not in response.get_data(as_text=True)
    assert "服务" in error["message"]
    assert any("secret internals" in (r.exc_text or "") for r in caplog.records)


def test_openapi_document(api: Api) -> None:
    doc = api.client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    ops = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    assert ("POST", "/api/v1/auth/login") in ops and ("DELETE", "/api/v1/me") in ops
    apply = doc["paths"]["/api/v1/traineeships/{traineeship_id}/applications"]["post"]
    assert {"200", "201", "401", "403", "404", "409", "422", "429"} <= set(apply["responses"])
    assert apply["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApplyIn"
    }
    assert "ErrorEnvelope" in doc["components"]["schemas"]
    assert "security" not in doc["paths"]["/api/v1/traineeships"]["get"]
