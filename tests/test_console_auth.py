"""Console sign-in and its protections, through the login form and the CLI."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask
from sqlalchemy import select

from bot.extensions import db
from services.models_staff import AuditLog, StaffUser
from tests.conftest import AppFactory
from tests.console_fixtures import *  # noqa: F403
from tests.console_fixtures import PASSWORD, StaffClient, create, login, wipe_console


def _token(client: Any) -> str:
    client.get("/console/login")
    with client.session_transaction() as session:
        return str(session["csrf_token"])


def _try(client: Any, username: str, password: str) -> Any:
    return client.post(
        "/console/login", data={"username": username, "password": password, "csrf_token": _token(client)}
    )


def _audit(app: Flask, action: str) -> list[AuditLog]:
    with app.app_context():
        try:
            return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))
        finally:
            db.session.remove()


def test_login_page_has_stable_ids_and_no_inline_script(anonymous: Any) -> None:
    page = anonymous.get("/console/login").get_data(as_text=True)
    for element in (
        'id="login-form"',
        'id="username"',
        'id="password"',
        'id="login-submit"',
        'name="csrf_token"',
    ):
        assert element in page
    assert "<script>" not in page and "style=" not in page and "onclick" not in page


def test_login_then_logout(console_app: Flask) -> None:
    name = create(console_app, "viewer")
    client = console_app.test_client()
    response = _try(client, name, PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/console/dashboard")
    assert client.get("/console/dashboard").status_code == 200
    with client.session_transaction() as session:
        token = session["csrf_token"]
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 302
    after = client.get("/console/dashboard")
    assert after.status_code == 302 and "/console/login" in after.headers["Location"]
    assert [e.actor for e in _audit(console_app, "login")] == [f"staff:{name}"]
    assert [e.actor for e in _audit(console_app, "logout")] == [f"staff:{name}"]


def test_wrong_password_and_unknown_user_look_the_same(console_app: Flask) -> None:
    name = create(console_app, "viewer")
    client = console_app.test_client()
    wrong = _try(client, name, "not-the-password-1")
    unknown = _try(client, "nobody-here", "not-the-password-1")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.get_data(as_text=True)
    assert "用户名或密码错误" in unknown.get_data(as_text=True)
    assert client.get("/console/dashboard").status_code == 302


def test_next_goes_back_to_the_page_but_never_off_site(console_app: Flask) -> None:
    name = create(console_app, "admin")
    client = console_app.test_client()
    first = client.get("/console/audit?action=login")
    assert first.status_code == 302
    assert (
        "next=/console/audit?action%3Dlogin" in first.headers["Location"]
        or "next=" in first.headers["Location"]
    )
    token = _token(client)
    data = {
        "username": name,
        "password": PASSWORD,
        "csrf_token": token,
        "next": "/console/audit?action=login",
    }
    assert client.post("/console/login", data=data).headers["Location"] == "/console/audit?action=login"
    other = console_app.test_client()
    token = _token(other)
    data = {
        "username": name,
        "password": PASSWORD,
        "csrf_token": token,
        "next": "https://evil.example/console/",
    }
    assert other.post("/console/login", data=data).headers["Location"] == "/console/dashboard"


def test_lockout_after_repeated_failures(make_app: AppFactory) -> None:
    app = make_app(
        CONSOLE_LOGIN_MAX_FAILURES=3, CONSOLE_LOCKOUT_SECONDS=600, CONSOLE_LOGIN_RATE_PER_MINUTE=100
    )
    wipe_console(app)
    try:
        name = create(app, "editor")
        client = app.test_client()
        for _ in range(3):
            assert _try(client, name, "wrong-password-1").status_code == 401
        locked = _try(client, name, PASSWORD)  # even the right password, while locked
        assert locked.status_code == 401
        assert "锁定" in locked.get_data(as_text=True)
        assert client.get("/console/dashboard").status_code == 302
        with app.app_context():
            staff = db.session.scalars(select(StaffUser).where(StaffUser.username == name)).one()
            assert staff.locked_until is not None
            db.session.remove()
        assert len(_audit(app, "login.failed")) == 3
        assert len(_audit(app, "login.locked")) == 1
    finally:
        wipe_console(app)


def test_lockout_ends_and_a_success_resets_the_count(make_app: AppFactory) -> None:
    app = make_app(CONSOLE_LOGIN_MAX_FAILURES=2, CONSOLE_LOCKOUT_SECONDS=1, CONSOLE_LOGIN_RATE_PER_MINUTE=100)
    wipe_console(app)
    try:
        name = create(app, "editor")
        client = app.test_client()
        assert _try(client, name, "wrong-password-1").status_code == 401
        assert _try(client, name, "wrong-password-1").status_code == 401
        assert _try(client, name, PASSWORD).status_code == 401
        time.sleep(1.1)
        assert _try(client, name, PASSWORD).status_code == 302
        with app.app_context():
            staff = db.session.scalars(select(StaffUser).where(StaffUser.username == name)).one()
            assert staff.failed_logins == 0 and staff.locked_until is None and staff.last_login is not None
            db.session.remove()
    finally:
        wipe_console(app)


def test_login_attempts_are_rate_limited_per_username_and_ip(make_app: AppFactory) -> None:
    app = make_app(CONSOLE_LOGIN_RATE_PER_MINUTE=3, CONSOLE_LOGIN_MAX_FAILURES=100)
    wipe_console(app)
    try:
        name = create(app, "viewer")
        client = app.test_client()
        if time.time() % 60 > 50:  # the limit counts per clock minute: start the attempts inside one
            time.sleep(60.5 - time.time() % 60)
        for _ in range(3):
            assert _try(client, name, "wrong-password-1").status_code == 401
        limited = _try(client, name, PASSWORD)
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert "尝试次数过多" in limited.get_data(as_text=True)
        # Another username from the same address is limited too: the IP has used its attempts.
        other = create(app, "viewer")
        assert _try(client, other, PASSWORD).status_code == 429
        assert _audit(app, "login.rate_limited")
    finally:
        wipe_console(app)


def test_csrf_is_required_on_every_post(console_app: Flask, admin: StaffClient) -> None:
    name = create(console_app, "viewer")
    fresh = console_app.test_client()
    fresh.get("/console/login")
    refused = fresh.post("/console/login", data={"username": name, "password": PASSWORD})
    assert refused.status_code == 400
    assert "刷新页面" in refused.get_data(as_text=True)
    wrong = fresh.post(
        "/console/login", data={"username": name, "password": PASSWORD, "csrf_token": "x" * 43}
    )
    assert wrong.status_code == 400
    # Signed in, a form post without the token is refused and changes nothing.
    response = admin.post_without_csrf(
        "/console/staff", data={"username": "sneaky", "password": PASSWORD, "roles": "admin"}
    )
    assert response.status_code == 400
    with console_app.app_context():
        assert db.session.scalars(select(StaffUser).where(StaffUser.username == "sneaky")).first() is None
        db.session.remove()
    # The header works for fetch(); the same request with the token goes through.
    assert admin.post("/console/logout", json={}).status_code == 302


def test_idle_session_expires(make_app: AppFactory) -> None:
    app = make_app(CONSOLE_SESSION_IDLE_SECONDS=2, CONSOLE_LOGIN_RATE_PER_MINUTE=100)
    wipe_console(app)
    try:
        client = login(app, create(app, "viewer"))
        assert client.get("/console/account/password").status_code == 200
        time.sleep(2.3)
        expired = client.get("/console/dashboard")
        assert expired.status_code == 302 and "/console/login" in expired.headers["Location"]
    finally:
        wipe_console(app)


def test_session_has_an_absolute_limit_even_when_busy(make_app: AppFactory) -> None:
    app = make_app(
        CONSOLE_SESSION_IDLE_SECONDS=60, CONSOLE_SESSION_MAX_SECONDS=3, CONSOLE_LOGIN_RATE_PER_MINUTE=100
    )
    wipe_console(app)
    try:
        client = login(app, create(app, "viewer"))
        started = time.monotonic()
        while time.monotonic() - started < 2.0:  # busy all along: never idle
            assert client.get("/console/account/password").status_code == 200
            time.sleep(0.3)
        time.sleep(max(0.0, 3.3 - (time.monotonic() - started)))
        assert client.get("/console/account/password").status_code == 302
    finally:
        wipe_console(app)


def test_deactivation_and_password_reset_end_sessions_at_once(
    console_app: Flask, admin: StaffClient, staff_login: Any
) -> None:
    editor = staff_login("editor")
    counselor = staff_login("counselor")
    assert editor.get("/console/dashboard").status_code == 200
    response = admin.post(f"/console/staff/{editor.username}", data={"roles": "editor", "display_name": "x"})
    assert response.status_code == 302  # "active" unticked: deactivated
    assert editor.get("/console/dashboard").status_code == 302
    assert (
        admin.post(
            f"/console/staff/{counselor.username}/password", data={"password": "new-secret-99"}
        ).status_code
        == 302
    )
    assert counselor.get("/console/dashboard").status_code == 302
    assert (
        login(console_app, counselor.username, "new-secret-99").get("/console/dashboard").status_code == 200
    )


def test_new_session_id_at_login(console_app: Flask) -> None:
    name = create(console_app, "viewer")
    client = console_app.test_client()
    _try(client, name, PASSWORD)
    with client.session_transaction() as session:
        first = session["console_sid"]
    _try(client, name, PASSWORD)
    with client.session_transaction() as session:
        assert session["console_sid"] != first


def test_security_headers_on_console_pages(anonymous: Any, viewer: StaffClient) -> None:
    for response in (
        anonymous.get("/console/login"),
        viewer.get("/console/dashboard"),
        viewer.get("/console/no-such-page"),
    ):
        headers = response.headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Cache-Control"] == "no-store"
    cookie = viewer.app.test_client().get("/console/login").headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_have_no_inline_scripts_or_styles(admin: StaffClient) -> None:
    for path in (
        "/console/dashboard",
        "/console/help",
        "/console/content",
        "/console/staff",
        "/console/audit",
    ):
        page = admin.get(path).get_data(as_text=True)
        assert "<script>" not in page and ' style="' not in page and " onclick=" not in page, path


def test_own_password_change_needs_the_current_one(console_app: Flask, staff_login: Any) -> None:
    me = staff_login("viewer")
    bad = me.post(
        "/console/account/password", data={"current": "wrong-password-1", "password": "brand-new-pass-2"}
    )
    assert bad.status_code == 302
    assert me.get("/console/dashboard").status_code == 200  # still signed in, nothing changed
    good = me.post("/console/account/password", data={"current": PASSWORD, "password": "brand-new-pass-2"})
    assert good.status_code == 302
    assert me.get("/console/dashboard").status_code == 302  # signed out by the change
    assert login(console_app, me.username, "brand-new-pass-2").get("/console/dashboard").status_code == 200


def test_create_admin_from_the_cli(console_app: Flask) -> None:
    runner = console_app.test_cli_runner()
    result = runner.invoke(
        args=["console", "create-admin", "chief", "--password-stdin"], input="a-strong-pass-1\n"
    )
    assert result.exit_code == 0, result.output
    assert "created chief (admin)" in result.output
    weak = runner.invoke(args=["console", "create-admin", "weak", "--password-stdin"], input="short\n")
    assert weak.exit_code != 0 and "密码至少" in weak.output
    again = runner.invoke(
        args=["console", "create-admin", "chief", "--password-stdin"], input="a-strong-pass-1\n"
    )
    assert again.exit_code != 0 and "已被使用" in again.output
    staff = runner.invoke(
        args=[
            "console",
            "create-staff",
            "xiaoli",
            "--role",
            "counselor",
            "--role",
            "editor",
            "--password-stdin",
        ],
        input="another-pass-2\n",
    )
    assert staff.exit_code == 0 and "editor counselor" in staff.output
    bad_role = runner.invoke(
        args=["console", "create-staff", "x1", "--role", "boss", "--password-stdin"], input="x\n"
    )
    assert bad_role.exit_code != 0
    client = login(console_app, "chief", "a-strong-pass-1")
    assert client.get("/console/staff").status_code == 200
    with console_app.app_context():
        stored = db.session.scalars(select(StaffUser).where(StaffUser.username == "chief")).one()
        assert stored.password_hash.startswith("scrypt:") and "a-strong-pass-1" not in stored.password_hash
        db.session.remove()


def test_without_redis_the_login_says_so_instead_of_crashing(make_app: AppFactory) -> None:
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    client = app.test_client()
    response = _try(client, "someone", PASSWORD)
    assert response.status_code == 503
    assert "系统暂时不可用" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_redis_going_away_mid_session_gives_the_503_page(console_app: Flask, viewer: StaffClient) -> None:
    from bot.extensions import get_redis

    assert viewer.get("/console/dashboard").status_code == 200
    rx = get_redis(console_app)
    healthy = rx.client
    rx.client = type(healthy).from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        response = viewer.get("/console/dashboard")
    finally:
        rx.client = healthy
    assert response.status_code == 503 and "系统暂时不可用" in response.get_data(as_text=True)
