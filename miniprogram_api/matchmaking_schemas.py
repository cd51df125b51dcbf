"""Request and response schemas for `/api/v1/match/…`. What a participant may see: events, their own profile
and their own sign-ups. Never another person's profile, never contact details, never the check-in code."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from miniprogram_api.schemas import Input, Instant, Output, Text
from miniprogram_api.schemas import _text as _text  # one definition of a bounded, cleaned text field

MatchStatus = Literal["pending", "approved", "declined", "waitlisted", "cancelled"]
Gender = Literal["male", "female"]


class MatchEventOut(Output):
    id: int
    title: str
    description: str
    partner: str | None = Field(description="co-hosting units, e.g. 金融街 employers")
    location: str
    district: str
    starts_at: Instant
    ends_at: Instant | None
    signup_deadline: Instant | None
    cancel_deadline: Instant | None = Field(description="seats can be given up until then")
    age_min: int
    age_max: int | None
    capacity: int
    seats_left: int
    gender_balanced: bool
    seats_left_male: int | None = Field(description="only for gender-balanced events")
    seats_left_female: int | None
    requires_review: bool
    status: str
    is_sample: bool
    eligible: bool | None = Field(description="null: fill in the matchmaking profile first")
    eligibility_reason: str | None = Field(description="why not, or what is missing (Chinese)")


class MatchEventPage(Output):
    items: list[MatchEventOut]
    next_cursor: str | None


class MatchProfileIn(Input):
    consent: bool = Field(description="separate consent to use this sensitive profile for matchmaking events")
    nickname: _text(16, 1)  # type: ignore[valid-type]
    age: Annotated[int, Field(ge=1, le=100)] | None = Field(None, description="age in years; or birth_year")
    birth_year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    gender: Gender
    occupation: _text(20, 2) = Field(description="the field the person works in, e.g. 金融, 医疗")  # type: ignore[valid-type]
    self_intro: _text(500, 10) = Field(description="checked by content safety before staff read it")  # type: ignore[valid-type]
    photo_url: Annotated[Text, Field(max_length=500, pattern=r"^https?://\S+$")] | None = None


class MatchProfileOut(Output):
    nickname: str
    birth_year: int
    gender: Gender
    occupation: str
    self_intro: str
    photo_url: str | None
    consent_at: Instant
    intro_status: Literal["pass", "review"] = Field(description="review: staff will read it first")
    updated_at: Instant | None


class MatchSignupIn(Input):
    single: bool = Field(description="the person declares they are single (required to be true)")


class MatchCheckinIn(Input):
    code: _text(16, 4) = Field(description="the check-in code staff announce at the event")  # type: ignore[valid-type]


class MatchSignupOut(Output):
    id: int
    event_id: int
    status: MatchStatus
    checked_in_at: Instant | None
    note: str | None = Field(description="the staff's note on a review decision")
    event: MatchEventOut | None
    updated_at: Instant | None


class MatchSignupList(Output):
    items: list[MatchSignupOut]
