"""Matchmaking (婚恋交友): events with per-gender seats, one profile per person, sign-ups with review.

Seat counters follow `Activity.confirmed`: conditional UPDATEs move them and CHECK constraints keep them
within the seats, so concurrent sign-ups can never overfill an event or one gender's share of it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
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

GENDERS = ("male", "female")


class MatchEvent(Base):
    """A staff-run event. `seats_male`/`seats_female` both set: gender-balanced (capacity is their sum);
    both NULL: any mix up to `capacity`. `taken_*` count seats held (pending or approved) by gender."""

    __tablename__ = "match_event"
    __table_args__ = (
        CheckConstraint("taken_male >= 0 AND taken_female >= 0", name="taken_not_negative"),
        CheckConstraint("taken_male + taken_female <= capacity", name="within_capacity"),
        CheckConstraint("seats_male IS NULL OR taken_male <= seats_male", name="within_male_seats"),
        CheckConstraint("seats_female IS NULL OR taken_female <= seats_female", name="within_female_seats"),
        CheckConstraint("age_min >= 18", name="adults_only"),
        Index("ix_match_event_status_starts", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    partner: Mapped[str | None] = mapped_column(String(100))  # co-hosting employers, e.g. 金融街 units
    location: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(32), index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signup_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    age_min: Mapped[int] = mapped_column(Integer, default=18)
    age_max: Mapped[int | None] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    seats_male: Mapped[int | None] = mapped_column(Integer)
    seats_female: Mapped[int | None] = mapped_column(Integer)
    taken_male: Mapped[int] = mapped_column(Integer, default=0)
    taken_female: Mapped[int] = mapped_column(Integer, default=0)
    requires_review: Mapped[bool] = mapped_column(Boolean, default=True)
    checkin_code: Mapped[str] = mapped_column(String(16))  # staff read it out on the day; never in the API
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | published | closed | cancelled
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    @property
    def balanced(self) -> bool:
        return self.seats_male is not None and self.seats_female is not None


class MatchProfile(Base):
    """What a person shows the staff who review their sign-ups (never other participants). Sensitive data
    under PIPL: stored only with its own consent, deleted (not hidden) when the person withdraws."""

    __tablename__ = "match_profile"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), unique=True)
    nickname: Mapped[str] = mapped_column(String(32))
    birth_year: Mapped[int] = mapped_column(Integer)
    gender: Mapped[str] = mapped_column(String(8))  # male | female
    occupation: Mapped[str] = mapped_column(String(32))  # the field people work in, not the employer
    self_intro: Mapped[str] = mapped_column(Text)
    photo_url: Mapped[str | None] = mapped_column(String(500))
    consent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    intro_verdict: Mapped[str] = mapped_column(String(8))  # pass | review (risky is never stored)
    intro_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class MatchSignup(Base):
    """One person at one event (unique). `gender` is copied from the profile at sign-up so the seat it holds
    is always released from the same counter. pending | approved hold a seat; waitlisted waits for one."""

    __tablename__ = "match_signup"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id", name="uq_match_signup_event_user"),
        Index("ix_match_signup_queue", "event_id", "status", "queued_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("match_event.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    gender: Mapped[str] = mapped_column(String(8))
    # pending | approved | declined | waitlisted | cancelled
    status: Mapped[str] = mapped_column(String(16), index=True)
    single_declared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)  # the latest staff note shown to the person
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
