"""Staff accounts and the role rules the console and the services both enforce.

Roles: admin (staff accounts, settings, menu sync, audit log; may do what editors, counselors and viewers
do), editor (listings, activities, events, wishes, broadcasts), counselor (help cases), viewer (dashboards;
every role may view). Crisis transcripts are the one exception to "admin may do everything": only people
who hold the counselor role read them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from services import audit
from services.eligibility import aware, mask_phone, utcnow
from services.errors import DomainError, Forbidden, Invalid, NotFound
from services.models_staff import ROLES, StaffUser

ROLE_LABELS = {"admin": "管理员", "editor": "编辑", "counselor": "心理/帮扶老师", "viewer": "查看"}
# What holding a role lets a person do besides its own screens.
IMPLIES: dict[str, frozenset[str]] = {
    "admin": frozenset(ROLES),
    "editor": frozenset({"editor", "viewer"}),
    "counselor": frozenset({"counselor", "viewer"}),
    "viewer": frozenset({"viewer"}),
}
# Who sees full phone numbers, by what the number is for: counselors call back, editors contact applicants.
PHONE_ROLES = {"help": "counselor", "listing": "editor"}
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
MIN_PASSWORD = 10
HASH_METHOD = "scrypt"
# Checked against when the username is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method=HASH_METHOD)


class LoginFailed(DomainError):
    code = "login_failed"
    default_message = "用户名或密码错误。"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(None, message)


class Locked(DomainError):
    code = "locked"
    default_message = "登录失败次数过多，账号已临时锁定，请稍后再试。"

    def __init__(self, minutes: int) -> None:
        super().__init__(None, f"登录失败次数过多，账号已临时锁定，请 {minutes} 分钟后再试。")


# -- roles ---------------------------------------------------------------------------------------------------
def effective_roles(staff: StaffUser) -> frozenset[str]:
    granted: set[str] = set()
    for role in staff.role_set:
        granted |= IMPLIES.get(role, frozenset())
    return frozenset(granted)


def has_role(staff: StaffUser | None, *roles: str) -> bool:
    return bool(staff is not None and staff.active and effective_roles(staff) & set(roles))


def ensure_role(staff: StaffUser | None, *roles: str) -> None:
    """Raise `Forbidden` unless the staff member (active) holds one of `roles`, directly or through admin."""
    if not has_role(staff, *roles):
        raise Forbidden()


def can_read_crisis(staff: StaffUser | None) -> bool:
    return bool(staff is not None and staff.active and "counselor" in staff.role_set)


def ensure_crisis_reader(staff: StaffUser | None) -> None:
    if not can_read_crisis(staff):
        raise Forbidden("危机对话记录仅限心理/帮扶老师查看。")


def visible_phone(staff: StaffUser | None, phone: str | None, purpose: str) -> str:
    """The full number for the role that needs it for `purpose` ("help" | "listing"), masked for others."""
    needed = PHONE_ROLES.get(purpose)
    if staff is not None and staff.active and needed in staff.role_set:
        return phone or ""
    return mask_phone(phone)


MOBILE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def visible_text(staff: StaffUser | None, text: str, purpose: str) -> str:
    """Free text (a transcript line) with mobile numbers in it masked for roles that do not need them."""
    needed = PHONE_ROLES.get(purpose)
    if staff is not None and staff.active and needed in staff.role_set:
        return text
    return MOBILE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)


def parse_roles(roles: Iterable[str] | str) -> str:
    items = roles.replace(",", " ").split() if isinstance(roles, str) else list(roles)
    wanted = [r.strip() for r in items if r.strip()]
    unknown = [r for r in wanted if r not in ROLES]
    if unknown or not wanted:
        raise Invalid(fields={"roles": "请选择角色：" + "、".join(f"{r}（{ROLE_LABELS[r]}）" for r in ROLES)})
    return " ".join(r for r in ROLES if r in wanted)


# -- accounts ------------------------------------------------------------------------------------------------
def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(fields={"password": f"密码至少 {MIN_PASSWORD} 个字符。"})
    if password.isdigit() or password.isalpha():
        raise Invalid(fields={"password": "密码需同时包含字母和数字或符号。"})


def get_staff(session: Session, username: str) -> StaffUser:
    staff = session.scalars(select(StaffUser).where(StaffUser.username == username)).first()
    if staff is None:
        raise NotFound("没有这个工作人员账号。")
    return staff


def list_staff(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.username)))


def create_staff(
    session: Session,
    username: str,
    password: str,
    roles: Iterable[str] | str,
    *,
    actor: str,
    display_name: str | None = None,
) -> StaffUser:
    """`actor` is `cli` for the command line or the admin's audit name; the caller checked the admin role."""
    username = username.strip()
    if not USERNAME.match(username):
        raise Invalid(fields={"username": "用户名为 3–32 个字母、数字或 _ . -。"})
    _check_password(password)
    role_text = parse_roles(roles)
    staff = StaffUser(
        username=username,
        display_name=(display_name or "").strip()[:64] or None,
        password_hash=generate_password_hash(password, method=HASH_METHOD),
        roles=role_text,
        active=True,
        failed_logins=0,
        session_epoch=0,
    )
    session.add(staff)
    audit.stage(session, actor, "staff.create", f"staff_user:{username}", {"roles": role_text})
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Invalid(fields={"username": "这个用户名已被使用。"}) from None
    return staff


def _other_active_admins(session: Session, staff: StaffUser) -> int:
    rows = session.scalars(select(StaffUser).where(StaffUser.active.is_(True), StaffUser.id != staff.id))
    return sum(1 for s in rows if "admin" in s.role_set)


def update_staff(
    session: Session,
    admin: StaffUser,
    username: str,
    *,
    roles: Iterable[str] | str | None = None,
    active: bool | None = None,
    display_name: str | None = None,
) -> StaffUser:
    ensure_role(admin, "admin")
    staff = get_staff(session, username)
    changes: dict[str, object] = {}
    if roles is not None:
        role_text = parse_roles(roles)
        if role_text != staff.roles:
            changes["roles"] = [staff.roles, role_text]
            staff.roles = role_text
    if active is not None and active != staff.active:
        changes["active"] = [staff.active, active]
        staff.active = active
        if not active:
            staff.session_epoch += 1  # signed out everywhere at once
    if display_name is not None:
        staff.display_name = display_name.strip()[:64] or None
    losing_admin = staff.active is False or "admin" not in staff.role_set
    if losing_admin and changes and _other_active_admins(session, staff) == 0:
        session.rollback()
        raise Invalid(fields={"roles": "至少需要保留一名在用的管理员。"})
    audit.stage(session, audit.actor_of(admin), "staff.update", f"staff_user:{username}", changes)
    session.commit()
    return staff


def set_password(
    session: Session, actor: StaffUser | Literal["cli"], username: str, password: str
) -> StaffUser:
    """An admin resets anyone's password, a staff member changes their own, the shell (`cli`) sets any.
    Old sessions end and a lockout is lifted."""
    staff = get_staff(session, username)
    if actor != "cli" and (not isinstance(actor, StaffUser) or actor.id != staff.id):
        ensure_role(actor if isinstance(actor, StaffUser) else None, "admin")
    _check_password(password)
    staff.password_hash = generate_password_hash(password, method=HASH_METHOD)
    staff.session_epoch += 1
    staff.failed_logins = 0
    staff.locked_until = None
    who = audit.actor_of(actor) if isinstance(actor, StaffUser) else "cli"
    audit.stage(session, who, "staff.password", f"staff_user:{username}")
    session.commit()
    return staff


def change_own_password(session: Session, staff: StaffUser, current: str, new: str) -> StaffUser:
    """The signed-in person's own change: the current password first, so a borrowed session is not enough."""
    if not check_password_hash(staff.password_hash, current):
        audit.record(session, audit.actor_of(staff), "staff.password_failed", f"staff_user:{staff.username}")
        raise Invalid(fields={"current": "当前密码不正确。"})
    return set_password(session, staff, staff.username, new)


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    max_failures: int,
    lockout_seconds: int,
    now: datetime | None = None,
) -> StaffUser:
    """The staff member for these credentials, or `LoginFailed` / `Locked`. Failures count in the database
    (one atomic UPDATE), so that several web processes share the count."""
    now = now or utcnow()
    staff = session.scalars(select(StaffUser).where(StaffUser.username == username.strip())).first()
    if staff is None or not staff.active:
        check_password_hash(_DUMMY_HASH, password)
        audit.record(
            session, "anonymous", "login.failed", f"staff_user:{username[:64]}", {"reason": "unknown"}
        )
        raise LoginFailed()
    locked_until = aware(staff.locked_until)
    if locked_until is not None and locked_until > now:
        audit.record(session, "anonymous", "login.locked", f"staff_user:{staff.username}")
        raise Locked(max(1, -(-int((locked_until - now).total_seconds()) // 60)))
    if not check_password_hash(staff.password_hash, password):
        session.execute(
            update(StaffUser)
            .where(StaffUser.id == staff.id)
            .values(failed_logins=StaffUser.failed_logins + 1)
        )
        session.refresh(staff)
        detail: dict[str, object] = {"reason": "password", "failures": staff.failed_logins}
        if staff.failed_logins >= max_failures:
            staff.locked_until = now + timedelta(seconds=lockout_seconds)
            staff.failed_logins = 0
            detail["locked_until"] = staff.locked_until.isoformat()
        audit.stage(session, "anonymous", "login.failed", f"staff_user:{staff.username}", detail)
        session.commit()
        raise LoginFailed()
    staff.failed_logins = 0
    staff.locked_until = None
    staff.last_login = now
    audit.stage(session, audit.actor_of(staff), "login", f"staff_user:{staff.username}")
    session.commit()
    return staff
