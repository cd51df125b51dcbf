"""Dashboard, content, staff accounts and the audit log screens."""

from __future__ import annotations

import re
from typing import Any

import requests
from flask import Flask
from sqlalchemy import select

from bot import message_log
from bot.extensions import db
from services import activities, delivery, traineeships
from services.models_delivery import Outbox
from services.models_staff import AuditLog, StaffUser
from tests.conftest import AES_KEY, APPID, TOKEN, wipe_domain_tables
from tests.console_fixtures import *  # noqa: F403
from tests.console_fixtures import PASSWORD, StaffClient, login
from tests.factories import APPLY_FORM, make_activity, make_traineeship, make_user
from tests.wechat_factory import WeChatPusher


def stat(page: str, name: str) -> str:
    match = re.search(rf'id="stat-{name}">([^<]*)<', page)
    assert match, name
    return match.group(1)


def test_dashboard_counts_and_charts(console_app: Flask, sandbox: Any, viewer: StaffClient) -> None:
    wechat = WeChatPusher(console_app.test_client(), TOKEN, APPID, AES_KEY, sandbox=sandbox)
    for text in ("你好", "你好呀", "今天天气怎么样"):
        wechat.text(text, openid="o-dash")
    message_log.flush(console_app)
    with console_app.app_context():
        wipe_domain_tables()
        try:
            activity = make_activity(db.session)
            post = make_traineeship(db.session)
            for _ in range(2):
                activities.sign_up(db.session, make_user(db.session), activity.id)
            traineeships.apply(db.session, make_user(db.session), post.id, **APPLY_FORM)
        finally:
            db.session.remove()
    try:
        page = viewer.get("/console/dashboard").get_data(as_text=True)
        assert stat(page, "messages") == "3"
        assert stat(page, "signups") == "2"
        assert stat(page, "applications") == "1"
        assert stat(page, "users") == "3"
        assert stat(page, "fallback") == "33%"  # one of three texts is not understood
        assert page.count("<svg") >= 5
        assert re.search(r"<title>\d+/\d+ 问候: 2</title>", page)
        assert re.search(r"<title>\d+/\d+ 活动报名: 2</title>", page)
        assert "cdn" not in page.lower() and '<script src="http' not in page
    finally:
        with console_app.app_context():
            wipe_domain_tables()
            db.session.remove()


def test_content_page_shows_the_directory_menu_replies_and_lint(staff_login: Any) -> None:
    editor = staff_login("editor")
    page = editor.get("/console/content").get_data(as_text=True)
    for element in ('id="help-directory"', 'id="menu"', 'id="replies"', "12355", "010-82951332", "青年服务"):
        assert element in page
    assert 'class="lint-ok" id="lint-menu"' in page
    assert 'id="menu-sync"' not in page  # admins only
    assert editor.post("/console/content/menu-sync").status_code == 403


def test_menu_sync_pushes_the_menu_and_is_audited(
    console_app: Flask, sandbox: Any, admin: StaffClient
) -> None:
    assert 'id="menu-sync"' in admin.get("/console/content").get_data(as_text=True)
    response = admin.post("/console/content/menu-sync", follow_redirects=True)
    assert "菜单已同步" in response.get_data(as_text=True)
    assert sandbox.state.menu is not None
    assert sandbox.state.menu["button"][0]["name"] == "青年服务"
    with console_app.app_context():
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "menu.sync")).one()
        assert entry.actor == f"staff:{admin.username}" and entry.target == "menu"
        db.session.remove()


def test_menu_sync_failure_is_reported(console_app: Flask, sandbox: Any, admin: StaffClient) -> None:
    fault = {"endpoint": "menu_create", "errcode": 48001, "times": 1}
    requests.post(f"{sandbox.url}/sandbox/api/faults", json=fault, timeout=5).raise_for_status()
    response = admin.post("/console/content/menu-sync", follow_redirects=True)
    assert "菜单同步失败" in response.get_data(as_text=True) and "48001" in response.get_data(as_text=True)
    assert sandbox.state.menu is None
    with console_app.app_context():
        assert db.session.scalars(select(AuditLog).where(AuditLog.action == "menu.sync_failed")).one()
        db.session.remove()


def test_admin_creates_and_edits_staff(console_app: Flask, admin: StaffClient) -> None:
    created = admin.post(
        "/console/staff",
        data={
            "username": "wang.xin",
            "display_name": "王欣",
            "password": PASSWORD,
            "roles": ["counselor", "editor"],
        },
    )
    assert created.status_code == 302
    page = admin.get("/console/staff").get_data(as_text=True)
    assert 'id="staff-wang.xin"' in page and "王欣" in page
    assert login(console_app, "wang.xin").get("/console/help").status_code == 200

    duplicate = admin.post(
        "/console/staff",
        data={"username": "wang.xin", "password": PASSWORD, "roles": "viewer"},
        follow_redirects=True,
    )
    assert "已被使用" in duplicate.get_data(as_text=True)
    no_role = admin.post(
        "/console/staff", data={"username": "li.ming", "password": PASSWORD}, follow_redirects=True
    )
    assert "请选择角色" in no_role.get_data(as_text=True)

    admin.post("/console/staff/wang.xin", data={"roles": "viewer", "active": "on", "display_name": "王欣"})
    with console_app.app_context():
        staff = db.session.scalars(select(StaffUser).where(StaffUser.username == "wang.xin")).one()
        assert staff.roles == "viewer" and staff.active
        actions = [
            e.action
            for e in db.session.scalars(select(AuditLog).where(AuditLog.target == "staff_user:wang.xin"))
        ]
        db.session.remove()
    assert actions[:1] == ["staff.create"] and "staff.update" in actions


def test_the_last_admin_cannot_be_removed(console_app: Flask, admin: StaffClient) -> None:
    response = admin.post(
        f"/console/staff/{admin.username}", data={"roles": "viewer", "active": "on"}, follow_redirects=True
    )
    assert "至少需要保留一名在用的管理员" in response.get_data(as_text=True)
    assert admin.get("/console/staff").status_code == 200


def test_audit_log_lists_and_filters(console_app: Flask, admin: StaffClient, staff_login: Any) -> None:
    staff_login("counselor")
    page = admin.get("/console/audit").get_data(as_text=True)
    assert "login" in page and f"staff:{admin.username}" in page
    filtered = admin.get("/console/audit?action=login&actor=staff:" + admin.username).get_data(as_text=True)
    assert f"staff_user:{admin.username}" in filtered
    assert "counselor" not in filtered.split('id="audit-table"')[1]


def test_dashboard_delivery_figures_come_from_the_outbox(console_app: Flask, viewer: StaffClient) -> None:
    with console_app.app_context():
        wipe_domain_tables()
        try:
            users = [make_user(db.session) for _ in range(4)]
            notice = delivery.create_notice(
                db.session,
                kind="broadcast",
                title="通知",
                body="明天活动照常举行",
                audience=[u.id for u in users],
                created_by="staff:test",
            )
            outcomes = {
                users[0].id: "sent",
                users[1].id: "sent",
                users[2].id: "failed",
                users[3].id: "skipped",
            }
            for row in db.session.scalars(select(Outbox).where(Outbox.notice_id == notice.id)):
                row.status = outcomes[row.user_id]
            db.session.commit()
        finally:
            db.session.remove()
    try:
        page = viewer.get("/console/dashboard").get_data(as_text=True)
        assert stat(page, "delivery") == "67%"  # 2 sent of 3 tried; the skip is not a failure
        assert re.search(r"<title>\d+/\d+ 已送达: 2</title>", page)
        assert re.search(r"<title>\d+/\d+ 失败: 1</title>", page)
        assert re.search(r"<title>\d+/\d+ 已跳过: 1</title>", page)
    finally:
        with console_app.app_context():
            wipe_domain_tables()
            db.session.remove()
