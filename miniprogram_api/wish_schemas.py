"""Request and response schemas for `/api/v1/wishes`.

Three views of a wish, by who is asking: `WishPublicOut` for everyone (the anonymised wall copy staff
approved), `WishMineOut` for its submitter, `WishClaimedOut` for its donor. None of them carries the full
name, the school or the contact phone: those stay with staff.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from miniprogram_api.schemas import AgeBand, Input, Instant, Output, PageQuery, _text

WishStatus = Literal[
    "submitted", "needs_info", "approved", "rejected", "claimed", "delivered", "received", "closed"
]
OnBehalfOf = Literal["self", "guardian", "social_worker"]
PriceBand = Literal["under100", "100to300", "300to1000", "over1000"]


class WishQuery(PageQuery):
    district: _text(32, 1) | None = None  # type: ignore[valid-type]


class WishPublicOut(Output):
    id: int
    alias: str = Field(description="a first-name initial or nickname, never a full name")
    age_band: AgeBand
    district: str
    item: str
    story: str = Field(description="the story as staff approved it, identifying details removed")
    price_band: PriceBand
    available: bool = Field(description="on the wall, waiting for a donor")
    approved_at: Instant | None
    is_sample: bool


class WishPage(Output):
    items: list[WishPublicOut]
    next_cursor: str | None


class WishIn(Input):
    on_behalf_of: OnBehalfOf = Field(description="self, or a guardian / social worker on their behalf")
    age_band: AgeBand = Field(description="the beneficiary's; under14 needs guardian_consent")
    guardian_consent: bool = Field(False, description="a guardian agreed (required for under-14s)")
    alias: _text(8, 1) = Field(description="initial or nickname shown on the wall")  # type: ignore[valid-type]
    district: _text(32, 2)  # type: ignore[valid-type]
    item: _text(50, 2)  # type: ignore[valid-type]
    story: _text(500, 10)  # type: ignore[valid-type]
    price_band: PriceBand
    beneficiary_name: _text(32, 2) | None = Field(None, description="full name, seen by staff only")  # type: ignore[valid-type]
    school: _text(100, 2) | None = Field(None, description="seen by staff only")  # type: ignore[valid-type]
    contact_phone: Annotated[str, Field(pattern=r"^1[3-9]\d{9}$")] | None = Field(
        None, description="for staff to arrange delivery; never shown to donors"
    )


class WishMineOut(Output):
    id: int
    status: WishStatus
    status_label: str
    on_behalf_of: OnBehalfOf
    alias: str
    age_band: AgeBand
    district: str
    item: str
    story: str
    price_band: PriceBand
    public: WishPublicOut | None = Field(description="what the wall shows, once approved")
    info_request: str | None
    info_answer: str | None
    reject_reason: str | None
    claimed: bool
    donor_org: str | None
    delivered_at: Instant | None
    received_at: Instant | None
    created_at: Instant | None


class WishMineList(Output):
    items: list[WishMineOut]


class WishClaimedOut(Output):
    wish: WishPublicOut
    status: WishStatus
    donor_org: str | None
    claimed_at: Instant | None
    claim_expires_at: Instant | None
    delivered_at: Instant | None
    received_at: Instant | None
    thank_you: str | None = Field(description="the beneficiary's thank-you, once it passed review")


class WishClaimedList(Output):
    items: list[WishClaimedOut]


class ClaimIn(Input):
    donor_org: _text(100, 2) | None = Field(None, description="claim on behalf of this organisation")  # type: ignore[valid-type]


class DeliveredIn(Input):
    note: _text(200, 1) | None = None  # type: ignore[valid-type]


class ReceivedIn(Input):
    thank_you: _text(500, 1) | None = Field(None, description="passed on to the donor")  # type: ignore[valid-type]


class InfoIn(Input):
    answer: _text(500, 2)  # type: ignore[valid-type]
