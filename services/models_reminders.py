"""Reminder preferences and the record of reminders handed to the delivery engine (migration 0007)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from services.models import Base

# The APScheduler job store lives in this table (created by migration 0007, used by bot/scheduler.py).
SCHEDULER_JOB_TABLE = "scheduler_job"


class ReminderPreference(Base):
    """Whether a person wants pushes on one topic. No row means the default (on): signing up for an
    activity or applying for a post is itself the request to hear about it."""

    __tablename__ = "reminder_preference"
    __table_args__ = (UniqueConstraint("user_id", "topic"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    topic: Mapped[str] = mapped_column(String(16))  # activities | traineeships | matchmaking | wishes
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ReminderSent(Base):
    """One row per reminder the scheduler turned into a notice: `subject` is what it is about
    ("signup:12", "activity:3", "user_notice:40") and `slot` which reminder ("24h", "2h", "waitlist_closed",
    "status"). The unique key, committed in the same transaction as the notice, makes each fire once even
    when two scheduler runs overlap or the process restarts."""

    __tablename__ = "reminder_sent"
    __table_args__ = (UniqueConstraint("subject", "slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(64))
    slot: Mapped[str] = mapped_column(String(32))
    notice_id: Mapped[int | None] = mapped_column(Integer)  # the delivery notice (no FK: purges differ)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
