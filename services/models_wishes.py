"""Micro-wishes (微心愿): a wish, who asked for it, who claimed it, and what the public may see of it.

Beneficiaries are often children in hardship, so a wish keeps two sets of text: what the submitter wrote
(seen by staff and the submitter only) and the `public_*` copy staff approve, edited free of identifying
details. Full name, school and contact phone never leave the staff side. History lives in `StatusChange`
(subject "wish").
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from services.models import Base


class Wish(Base):
    """One wish. `status`: submitted → needs_info ⇄ submitted → approved | rejected; approved → claimed →
    delivered → received → closed; a claim that expires returns to approved. The claim is taken by a
    conditional UPDATE on `status = 'approved'`, so two donors can never both hold it."""

    __tablename__ = "wish"
    __table_args__ = (
        Index("ix_wish_status_approved", "status", "approved_at"),
        Index("ix_wish_status_claim_expires", "status", "claim_expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The person who submitted it; NULL once they erased their account (the row keeps anonymous counts).
    submitter_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), index=True
    )
    on_behalf_of: Mapped[str] = mapped_column(String(16))  # self | guardian | social_worker
    # What the submitter told us: staff and the submitter only.
    alias: Mapped[str] = mapped_column(String(16))  # an initial or nickname, e.g. "小雨" / "L同学"
    beneficiary_name: Mapped[str | None] = mapped_column(String(32))  # full name, optional, staff only
    school: Mapped[str | None] = mapped_column(String(100))  # optional, staff only
    contact_phone: Mapped[str | None] = mapped_column(String(32))  # for staff to arrange delivery
    age_band: Mapped[str] = mapped_column(String(16))  # under14 | 14to17 | 18to24 | 25to35
    guardian_consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    district: Mapped[str] = mapped_column(String(32), index=True)
    item: Mapped[str] = mapped_column(String(50))
    story: Mapped[str] = mapped_column(Text)
    price_band: Mapped[str] = mapped_column(String(16))  # under100 | 100to300 | 300to1000 | over1000
    info_answer: Mapped[str | None] = mapped_column(Text)  # the submitter's answer to a request for more
    # Content safety of what the submitter wrote (services.content_safety).
    safety_suggest: Mapped[str] = mapped_column(String(8))
    safety_reason: Mapped[str | None] = mapped_column(String(100))
    safety_source: Mapped[str] = mapped_column(String(16))
    # What the wall shows: copied on approval, edited by staff to remove identifying details.
    public_alias: Mapped[str | None] = mapped_column(String(16))
    public_item: Mapped[str | None] = mapped_column(String(50))
    public_story: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    info_request: Mapped[str | None] = mapped_column(Text)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The donor: any user, optionally for an organisation.
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"), index=True)
    donor_org: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claim_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_note: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    thank_you: Mapped[str | None] = mapped_column(Text)
    # The thank-you reaches the donor only when content safety passed it, or staff released it.
    thank_you_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
