"""Staff console models: staff accounts, the audit log and notes on help cases (migration 0008).

The help-case handling columns (assigned_to, outcome, closed_at, closed_by) live on `HelpCase` itself in
`services/models.py`, since every case has them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from services.models import Base

ROLES = ("admin", "editor", "counselor", "viewer")


class StaffUser(Base):
    """A person who works in the console. Never deleted (the audit log names them); deactivated instead."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Space-separated subset of ROLES: one person may be both counselor and editor.
    roles: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Bumped on password change or deactivation: sessions issued before it stop working at once.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(self.roles.split())


class AuditLog(Base):
    """Who did what, when, to which record. Written by `services.audit.record` for every staff action."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)  # staff:<username> | system | anonymous
    action: Mapped[str] = mapped_column(String(64), index=True)  # e.g. login, help_case.close
    target: Mapped[str] = mapped_column(String(100))  # e.g. help_case:12, staff_user:alice
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class HelpCaseNote(Base):
    """A counselor's note on a case, or the text of a reply sent to the young person (kind = reply)."""

    __tablename__ = "help_case_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("help_case.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # note | reply
    author: Mapped[str] = mapped_column(String(64))  # staff username
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
