"""Staff work on micro-wishes: the lists (review queue, claimed, overdue …) and the review actions,
role-checked and audited. Wishes carry children's details (full name, school, phone), so every wish screen
and action needs an editor."""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict, Unpack

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import wish_claims, wish_review
from services.eligibility import utcnow
from services.models_staff import StaffUser
from services.models_wishes import Wish
from services.staff import ensure_role
from services.staff_listings import Numbered, paged
from services.staff_ops import perform, reason_detail

EDIT = ("editor",)
# Claims whose delivery is due within this time are listed as overdue (or about to be).
DUE_SOON = timedelta(days=2)
TABS = {
    "review": "待审核",
    "needs_info": "待补充",
    "approved": "已上墙",
    "claimed": "已认领",
    "overdue": "认领逾期 / 将逾期",
    "delivered": "已送达待确认",
    "received": "已收到",
    "rejected": "未通过",
    "closed": "已关闭",
}


def staff_wishes(session: Session, staff: StaffUser, tab: str, page: int = 1) -> Numbered[Wish]:
    """One tab of the wish screens. The review queue is oldest first (first come, first reviewed); overdue
    claims are soonest-due first; the rest newest first."""
    ensure_role(staff, *EDIT)
    query = select(Wish)
    if tab == "review":
        query = query.where(Wish.status == "submitted").order_by(Wish.created_at, Wish.id)
    elif tab == "overdue":
        query = query.where(Wish.status == "claimed", Wish.claim_expires_at <= utcnow() + DUE_SOON)
        query = query.order_by(Wish.claim_expires_at, Wish.id)
    elif tab in TABS:
        query = query.where(Wish.status == tab).order_by(Wish.updated_at.desc(), Wish.id.desc())
    else:
        query = query.order_by(Wish.id.desc())
    return paged(session, query, page)


def get_wish(session: Session, staff: StaffUser, wish_id: int) -> Wish:
    ensure_role(staff, *EDIT)
    return wish_review.get_wish(session, wish_id)


class PublicText(TypedDict, total=False):
    """What the wall shows of a wish; staff may rewrite any of it (None or blank: leave it)."""

    public_alias: str | None
    public_item: str | None
    public_story: str | None


def _target(wish: Wish) -> str:
    return f"wish:{wish.id}"


def approve(session: Session, staff: StaffUser, wish_id: int, **edits: Unpack[PublicText]) -> Wish:
    return perform(
        session,
        staff,
        "wish.approve",
        _target,
        lambda a: wish_review.approve_wish(session, wish_id, a, **edits),
        detail={"edited": sorted(k for k, v in edits.items() if v)},
    )


def edit_public(session: Session, staff: StaffUser, wish_id: int, **edits: Unpack[PublicText]) -> Wish:
    changed = {k: v for k, v in edits.items() if v}
    return perform(
        session,
        staff,
        "wish.edit_public",
        _target,
        lambda a: wish_review.edit_public(session, wish_id, a, **changed),
        detail={"edited": sorted(changed)},
    )


def reject(session: Session, staff: StaffUser, wish_id: int, reason: str) -> Wish:
    return perform(
        session,
        staff,
        "wish.reject",
        _target,
        lambda a: wish_review.reject_wish(session, wish_id, a, reason),
        detail={"reason": reason},
    )


def ask_for_more(session: Session, staff: StaffUser, wish_id: int, question: str) -> Wish:
    return perform(
        session,
        staff,
        "wish.request_info",
        _target,
        lambda a: wish_review.request_info(session, wish_id, a, question),
        detail={"question": question},
    )


def close(session: Session, staff: StaffUser, wish_id: int, reason: str | None = None) -> Wish:
    return perform(
        session,
        staff,
        "wish.close",
        _target,
        lambda a: wish_review.close_wish(session, wish_id, a, reason),
        detail=reason_detail(reason),
    )


def release_thank_you(session: Session, staff: StaffUser, wish_id: int) -> Wish:
    return perform(
        session,
        staff,
        "wish.release_thanks",
        _target,
        lambda a: wish_claims.release_thank_you(session, wish_id, a),
    )
