"""Subscription credits, notices and the delivery outbox (migration 0006)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.models import Base

# 100,000 recipients per broadcast add up: the outbox id is 64-bit on PostgreSQL.
BigId = BigInteger().with_variant(Integer, "sqlite")


class SubscriptionCredit(Base):
    """How many one-time subscription messages of a template we may still send to an openid.

    WeChat keeps the real count; this mirror lets the worker choose a channel without spending a call on a
    certain 43101. `last_status` is the user's latest choice (accept | reject | ban | filter | sent | spent).
    """

    __tablename__ = "subscription_credit"
    __table_args__ = (UniqueConstraint("openid", "template_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    openid: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[str] = mapped_column(String(128))
    credits: Mapped[int] = mapped_column(Integer, default=0)
    last_event: Mapped[str | None] = mapped_column(String(64))  # api | popup | change | sent | send
    last_status: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Notice(Base):
    """One push to many people: what to say, through which template, and when."""

    __tablename__ = "notice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)  # reminder | status | broadcast | …
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    template: Mapped[str | None] = mapped_column(String(64))  # key in content/templates.toml
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    page: Mapped[str | None] = mapped_column(String(200))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | cancelled
    created_by: Mapped[str] = mapped_column(String(64))
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    scheduled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[str | None] = mapped_column(String(64))


class Outbox(Base):
    """One recipient of one notice: the unit a worker claims, sends and records."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("notice_id", "user_id"),
        # Claiming: pending rows due now, oldest due first; the lease sweep looks up `sending` by expiry.
        Index("ix_outbox_claim", "status", "next_attempt_at"),
        Index("ix_outbox_lease", "status", "leased_until"),
        # TEMPLATESENDJOBFINISH reports name the send by WeChat's msgid.
        Index("ix_outbox_wechat_msgid", "wechat_msgid"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)  # copied from the notice: claim filter
    channel: Mapped[str | None] = mapped_column(
        String(16)
    )  # customer_service | subscription | template | none
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    leased_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(200))
    wechat_msgid: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
