"""Staff accounts (admins) and one's own password (everyone)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from bot.extensions import db
from console import sessions
from console.auth import current_staff, require_role
from console.blueprint import back_on_error, bp, nav_item
from services.models_staff import ROLES, StaffUser
from services.staff import (
    ROLE_LABELS,
    change_own_password,
    create_staff,
    ensure_role,
    get_staff,
    list_staff,
    set_password,
    update_staff,
)

nav_item("工作人员", "console.staff_list", "admin", order=80)


def _me() -> StaffUser:
    staff = current_staff()
    assert staff is not None
    return staff


@bp.route("/staff")
@require_role("admin")
def staff_list() -> str:
    return render_template(
        "console/staff_list.html", people=list_staff(db.session), roles=ROLES, labels=ROLE_LABELS
    )


@bp.route("/staff", methods=["POST"])
@require_role("admin")
def staff_create() -> Response:
    back_on_error(url_for("console.staff_list"))
    admin = _me()
    ensure_role(admin, "admin")
    staff = create_staff(
        db.session,
        request.form.get("username", ""),
        request.form.get("password", ""),
        request.form.getlist("roles"),
        actor=f"staff:{admin.username}",
        display_name=request.form.get("display_name"),
    )
    flash(f"已创建账号 {staff.username}。", "success")
    return redirect(url_for("console.staff_list"))


@bp.route("/staff/<username>")
@require_role("admin")
def staff_edit(username: str) -> str:
    return render_template(
        "console/staff_edit.html", person=get_staff(db.session, username), roles=ROLES, labels=ROLE_LABELS
    )


@bp.route("/staff/<username>", methods=["POST"])
@require_role("admin")
def staff_update(username: str) -> Response:
    back_on_error(url_for("console.staff_edit", username=username))
    update_staff(
        db.session,
        _me(),
        username,
        roles=request.form.getlist("roles"),
        active=request.form.get("active") == "on",
        display_name=request.form.get("display_name", ""),
    )
    flash("已保存。", "success")
    return redirect(url_for("console.staff_edit", username=username))


@bp.route("/staff/<username>/password", methods=["POST"])
@require_role("admin")
def staff_password(username: str) -> Response:
    back_on_error(url_for("console.staff_edit", username=username))
    set_password(db.session, _me(), username, request.form.get("password", ""))
    flash(f"已重置 {username} 的密码，其已登录的会话全部失效。", "success")
    if username == _me().username:
        sessions.end()
        return redirect(url_for("console.login"))
    return redirect(url_for("console.staff_edit", username=username))


@bp.route("/account/password", methods=["GET", "POST"])
@require_role("viewer")
def account_password() -> Response | str:
    me = _me()
    if request.method == "GET":
        return render_template("console/account_password.html")
    back_on_error(url_for("console.account_password"))
    change_own_password(db.session, me, request.form.get("current", ""), request.form.get("password", ""))
    sessions.end()
    flash("密码已修改，请用新密码重新登录。", "success")
    return redirect(url_for("console.login"))
