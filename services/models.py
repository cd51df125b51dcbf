"""SQLAlchemy 2.0 typed models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names so that Alembic migrations are reproducible on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Tables the migrations create for a library in its own layout, with no model: APScheduler's job store.
EXTERNAL_TABLES = frozenset({"scheduler_job"})


def include_in_autogenerate(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's `include_object`: leave EXTERNAL_TABLES (and their indexes) out of model comparisons."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return getattr(table, "name", name) not in EXTERNAL_TABLES


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class MessageLog(Base):
    """Every inbound push, once. `dedup_key` is the second line of defence when Redis forgets a key."""

    __tablename__ = "message_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    msg_type: Mapped[str] = mapped_column(String(32))
    event: Mapped[str | None] = mapped_column(String(64))
    event_key: Mapped[str | None] = mapped_column(String(200))
    msg_id: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class HelpCase(Base):
    """A young person who needs staff: a crisis (urgent), a 12355 callback request, or a human hand-off.

    `source_key` is the dedup key of the message that opened the case, so the same message can never open
    two cases. Transcripts are kept for counsellors only; the console enforces who may read them.
    """

    __tablename__ = "help_case"
    __table_args__ = (UniqueConstraint("kind", "source_key", name="uq_help_case_kind_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # crisis | callback | human
    category: Mapped[str | None] = mapped_column(String(32))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | closed
    source_key: Mapped[str] = mapped_column(String(200))
    evidence: Mapped[str | None] = mapped_column(String(200))
    transcript: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    age_band: Mapped[str | None] = mapped_column(String(16))
    guardian_consent: Mapped[bool | None] = mapped_column(Boolean)
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    preferred_time: Mapped[str | None] = mapped_column(String(100))
    # Handling in the staff console (migration 0008): who has it, how it ended.
    assigned_to: Mapped[str | None] = mapped_column(String(64))  # staff username
    outcome: Mapped[str | None] = mapped_column(String(32))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


# -- people ------------------------------------------------------------------------------------------------
class User(Base):
    """A young person, as the miniprogram and/or the Official Account know them.

    Minimal by design (PIPL): an age band first, then only what a service needs. `openid` is the
    miniprogram's, `oa_openid` the Official Account's; `unionid` links the two when WeChat provides it.
    """

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    oa_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    nickname: Mapped[str | None] = mapped_column(String(32))
    age_band: Mapped[str | None] = mapped_column(String(16))  # under14 | 14to17 | 18to24 | 25to35
    birth_year: Mapped[int | None] = mapped_column(Integer)
    district: Mapped[str | None] = mapped_column(String(32))
    education: Mapped[str | None] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(32))
    privacy_consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    guardian_consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ApiSession(Base):
    """The miniprogram's login: our own opaque token (only its hash is stored), never WeChat's session_key."""

    __tablename__ = "api_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UserNotice(Base):
    """A notice for a user that WeChat could not carry: shown next time they open the miniprogram."""

    __tablename__ = "user_notice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(String(32))  # what it is about, e.g. "application:12"
    delivered_via: Mapped[str | None] = mapped_column(String(16))  # custom | inbox
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StatusChange(Base):
    """Every status change of an application, sign-up or listing: who, when, why."""

    __tablename__ = "status_change"
    __table_args__ = (Index("ix_status_change_subject", "subject", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(16))  # application | signup | traineeship | activity
    subject_id: Mapped[int] = mapped_column(Integer)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))  # user:<id> | staff:<name> | system
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# -- traineeships ------------------------------------------------------------------------------------------
class Traineeship(Base):
    """A 就业见习 post. Eligibility: age range, minimum education, residents of a district (all optional)."""

    __tablename__ = "traineeship"
    __table_args__ = (Index("ix_traineeship_status_published", "status", "published_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    employer: Mapped[str] = mapped_column(String(100))
    district: Mapped[str] = mapped_column(String(32), index=True)
    field: Mapped[str] = mapped_column(String(32), index=True)
    education: Mapped[str | None] = mapped_column(String(16))  # minimum; None: any
    stipend: Mapped[int | None] = mapped_column(Integer)  # yuan per month
    positions: Mapped[int] = mapped_column(Integer, default=1)
    location: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    age_min: Mapped[int | None] = mapped_column(Integer)
    age_max: Mapped[int | None] = mapped_column(Integer)
    residents_of: Mapped[str | None] = mapped_column(String(32))
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | open | closed
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Application(Base):
    """One person's application to one post (unique: a double tap or a retry cannot make two)."""

    __tablename__ = "application"
    __table_args__ = (UniqueConstraint("traineeship_id", "user_id", name="uq_application_post_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    traineeship_id: Mapped[int] = mapped_column(ForeignKey("traineeship.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    phone: Mapped[str] = mapped_column(String(32))
    school: Mapped[str] = mapped_column(String(100))
    major: Mapped[str] = mapped_column(String(100))
    graduation_year: Mapped[int] = mapped_column(Integer)
    # submitted | reviewing | accepted | declined | withdrawn
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    note: Mapped[str | None] = mapped_column(Text)  # the latest staff note shown to the applicant
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


# -- activities --------------------------------------------------------------------------------------------
class Activity(Base):
    """An activity with seats. `confirmed` counts confirmed sign-ups; the check constraint and a conditional
    UPDATE (never read-then-write) keep it within `capacity` under concurrent sign-ups."""

    __tablename__ = "activity"
    __table_args__ = (
        CheckConstraint("confirmed >= 0 AND confirmed <= capacity", name="within_capacity"),
        Index("ix_activity_status_starts", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32), index=True)  # 社区青年汇, 志愿服务, 读书会 …
    description: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(32), index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    capacity: Mapped[int] = mapped_column(Integer)
    confirmed: Mapped[int] = mapped_column(Integer, default=0)
    waitlist: Mapped[bool] = mapped_column(Boolean, default=True)
    age_min: Mapped[int | None] = mapped_column(Integer)
    age_max: Mapped[int | None] = mapped_column(Integer)
    residents_of: Mapped[str | None] = mapped_column(String(32))
    signup_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | published | closed | cancelled
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Signup(Base):
    """One person's place at one activity (unique); cancelled rows are reused on a new sign-up."""

    __tablename__ = "signup"
    __table_args__ = (UniqueConstraint("activity_id", "user_id", name="uq_signup_activity_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # confirmed | waitlisted | cancelled
    # Waitlist order: when the person (re)joined the queue.
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
