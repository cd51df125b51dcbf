"""Wishes → response schemas, by who is asking. Built only from `services.wishes.public_view` and the
submitter's or donor's own fields: the full name, school and contact phone are never read here."""

from __future__ import annotations

from dataclasses import asdict

from miniprogram_api.wish_schemas import WishClaimedOut, WishMineOut, WishPublicOut
from services.models_wishes import Wish
from services.wish_rules import STATUS_LABELS, public_view


def public_out(wish: Wish) -> WishPublicOut:
    return WishPublicOut.model_validate(asdict(public_view(wish)))


def mine_out(wish: Wish) -> WishMineOut:
    return WishMineOut(
        id=wish.id,
        status=wish.status,  # type: ignore[arg-type]
        status_label=STATUS_LABELS.get(wish.status, wish.status),
        on_behalf_of=wish.on_behalf_of,  # type: ignore[arg-type]
        alias=wish.alias,
        age_band=wish.age_band,  # type: ignore[arg-type]
        district=wish.district,
        item=wish.item,
        story=wish.story,
        price_band=wish.price_band,  # type: ignore[arg-type]
        public=public_out(wish) if wish.approved_at is not None else None,
        info_request=wish.info_request,
        info_answer=wish.info_answer,
        reject_reason=wish.reject_reason,
        claimed=wish.claimed_by is not None,
        donor_org=wish.donor_org,
        delivered_at=wish.delivered_at,
        received_at=wish.received_at,
        created_at=wish.created_at,
    )


def claimed_out(wish: Wish) -> WishClaimedOut:
    return WishClaimedOut(
        wish=public_out(wish),
        status=wish.status,  # type: ignore[arg-type]
        donor_org=wish.donor_org,
        claimed_at=wish.claimed_at,
        claim_expires_at=wish.claim_expires_at,
        delivered_at=wish.delivered_at,
        received_at=wish.received_at,
        thank_you=wish.thank_you if wish.thank_you_sent else None,
    )
