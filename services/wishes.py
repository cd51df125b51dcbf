"""Micro-wishes (微心愿): submission, staff review, the public wall, history and erasure.

The flow is collect → review → publish → claim → fulfil → follow up. Claims and what follows them live in
`services.wish_claims`, staff review in `services.wish_review`, the rules in `services.wish_rules`; all are
re-exported here, so `services.wishes.claim_wish`, `expire_claims`, `approve_wish` … work too.
Every transition is recorded as a `StatusChange` (subject "wish") and the people concerned are told through
`services.notices`, after the commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services import content_safety
from services.common import Page, actor_of, guarded, keyset_page, record_change, retry_locked
from services.eligibility import utcnow
from services.errors import Invalid, InvalidTransition, NotFound
from services.models import User
from services.models_wishes import Wish
from services.wish_claims import (
    SUBJECT,
    claim_wish,
    confirm_received,
    expire_claims,
    locked,
    mark_delivered,
    my_claims,
    release_claim,
    release_thank_you,
    tell,
)
from services.wish_review import (
    approve_wish,
    close_wish,
    edit_public,
    get_wish,
    reject_wish,
    request_info,
    review_queue,
    wish_history,
)
from services.wish_rules import (
    OPEN,
    PUBLIC,
    STATUS_LABELS,
    GuardianConsentRequired,
    LimitReached,
    PublicWish,
    clean_text,
    limits,
    public_view,
    validate_submission,
)

__all__ = [
    "PublicWish",
    "approve_wish",
    "claim_wish",
    "close_wish",
    "confirm_received",
    "edit_public",
    "expire_claims",
    "get_wish",
    "mark_delivered",
    "my_claims",
    "public_view",
    "reject_wish",
    "release_claim",
    "release_thank_you",
    "request_info",
    "review_queue",
    "wish_history",
]


def _safety(
    session: Session, user: User, texts: Mapping[str, str | None], in_miniprogram: bool
) -> content_safety.SafetyVerdict:
    openid = content_safety.miniprogram_openid(session, user, in_miniprogram=in_miniprogram)
    verdict = content_safety.check_fields({k: v for k, v in texts.items() if v}, openid=openid, scene=2)
    if verdict.suggest == "risky":
        field = next(iter(k for k, v in texts.items() if v), "story")
        raise Invalid(
            f"内容未通过安全检查（{verdict.reason}），请修改后再提交。",
            fields={field: f"内容未通过安全检查：{verdict.reason}"},
        )
    return verdict


# -- the submitter ---------------------------------------------------------------------------------
@retry_locked
def submit_wish(
    session: Session, user: User, data: Mapping[str, Any], *, in_miniprogram: bool = False
) -> Wish:
    """A new wish for staff review. `data`: on_behalf_of (self | guardian | social_worker), age_band, alias
    (initial or nickname), district, item, story, price_band; optional beneficiary_name, school,
    contact_phone (staff only), guardian_consent (required True for under-14s). Content safety runs on the
    text: "risky" is refused (`Invalid`), "review" is stored for the reviewer to see."""
    values = validate_submission(data)
    minor = values["age_band"] == "under14" or (
        values["on_behalf_of"] == "self" and user.age_band == "under14"
    )
    if minor and not values["guardian_consent"] and user.guardian_consent_at is None:
        raise GuardianConsentRequired()
    consent = values.pop("guardian_consent")
    # The network call happens before the transaction, so no lock waits on WeChat.
    verdict = _safety(
        session,
        user,
        {"item": values["item"], "story": values["story"], "alias": values["alias"]},
        in_miniprogram,
    )
    now = utcnow()

    def work() -> Wish:
        # Serialise one person's submissions on their own row, so two at once cannot both pass the limit.
        session.execute(select(User.id).where(User.id == user.id).with_for_update())
        open_count = session.scalar(
            select(func.count(Wish.id)).where(Wish.submitter_id == user.id, Wish.status.in_(OPEN))
        )
        cap = limits().open_per_user
        if (open_count or 0) >= cap:
            raise LimitReached(f"每人同时最多有 {cap} 个进行中的心愿，请等已有心愿完成后再提交。")
        wish = Wish(
            **values,
            submitter_id=user.id,
            guardian_consent_at=now if (minor and (consent or user.guardian_consent_at)) else None,
            safety_suggest=verdict.suggest,
            safety_reason=verdict.reason,
            safety_source=verdict.source,
            status="submitted",
            thank_you_sent=False,
            is_sample=False,
        )
        session.add(wish)
        session.flush()
        note = None if verdict.passed else f"内容安全：{verdict.reason}"
        record_change(session, SUBJECT, wish.id, None, "submitted", actor_of(user), note)
        return wish

    return guarded(session, work)


def my_wishes(session: Session, user: User) -> list[Wish]:
    """The wishes a person submitted, newest first."""
    return list(
        session.scalars(
            select(Wish).where(Wish.submitter_id == user.id).order_by(Wish.created_at.desc(), Wish.id.desc())
        )
    )


def get_own_wish(session: Session, user: User, wish_id: int) -> Wish:
    wish = session.get(Wish, wish_id)
    if wish is None or wish.submitter_id != user.id:
        raise NotFound("没有找到这个心愿。")
    return wish


@retry_locked
def answer_info(
    session: Session, user: User, wish_id: int, answer: str, *, in_miniprogram: bool = False
) -> Wish:
    """The submitter answers staff's request for more information: the wish goes back to review."""
    errors: dict[str, str] = {}
    text = clean_text("answer", answer, errors)
    if errors or text is None:
        raise Invalid(fields=errors)
    get_own_wish(session, user, wish_id)
    verdict = _safety(session, user, {"answer": text}, in_miniprogram)

    def work() -> Wish:
        wish = locked(session, wish_id)
        if wish.submitter_id != user.id:
            raise NotFound("没有找到这个心愿。")
        if wish.status != "needs_info":
            raise InvalidTransition("这个心愿现在不需要补充信息。")
        record_change(session, SUBJECT, wish.id, "needs_info", "submitted", actor_of(user), "已补充信息")
        wish.info_answer = text
        wish.status = "submitted"
        if content_safety.SEVERITY[verdict.suggest] > content_safety.SEVERITY[wish.safety_suggest]:
            wish.safety_suggest, wish.safety_reason, wish.safety_source = (
                verdict.suggest,
                verdict.reason,
                verdict.source,
            )
        return wish

    return guarded(session, work)


@retry_locked
def withdraw_wish(session: Session, user: User, wish_id: int) -> Wish:
    """The submitter takes back a wish nobody has claimed yet (a claimed one goes through staff)."""
    get_own_wish(session, user, wish_id)

    def work() -> Wish:
        old = locked(session, wish_id).status
        # Conditional as well as locked: loses cleanly to a donor claiming it at this very moment.
        moved = session.execute(
            update(Wish)
            .where(Wish.id == wish_id, Wish.status.in_(("submitted", "needs_info", "approved")))
            .values(status="closed")
            .execution_options(synchronize_session=False)
        ).rowcount
        wish = locked(session, wish_id)
        if not moved:
            raise InvalidTransition(f"心愿当前「{STATUS_LABELS.get(wish.status)}」，不能撤回。")
        record_change(session, SUBJECT, wish.id, old, "closed", actor_of(user), "提交人撤回")
        return wish

    return guarded(session, work)


# -- the public wall ------------------------------------------------------------------------------
def list_wall(
    session: Session, *, district: str | None = None, limit: int = 10, cursor: str | None = None
) -> Page[Wish]:
    """Approved, unclaimed wishes, newest on the wall first; keyset cursor on (approved_at, id)."""
    query = select(Wish).where(Wish.status == "approved", Wish.approved_at.is_not(None))
    if district:
        query = query.where(Wish.district == district)
    return keyset_page(
        session, query, Wish.approved_at, Wish.id, limit=limit, cursor=cursor, newest_first=True
    )


def get_public_wish(session: Session, wish_id: int) -> Wish:
    """A wish anyone may look at (on the wall or past it); render it with `public_view` only."""
    wish = session.get(Wish, wish_id)
    if wish is None or wish.status not in PUBLIC or wish.approved_at is None:
        raise NotFound("没有找到这个心愿，可能已下架。")
    return wish


# -- erasure ---------------------------------------------------------------------------------------
def erase_for_user(session: Session, user: User, actor: str) -> None:
    """Inside `users.erase_user`'s transaction: the person's wishes lose every personal detail and close
    (a donor holding one is told), and wishes they claimed go back to the wall."""
    for wish in session.scalars(select(Wish).where(Wish.submitter_id == user.id).with_for_update()):
        if wish.status in OPEN:
            record_change(session, SUBJECT, wish.id, wish.status, "closed", actor, "提交人注销")
            if wish.status in ("claimed", "delivered"):
                body = f"您认领的心愿「{wish.public_item}」已由提交人撤回，无需再送出，感谢您的爱心。"
                tell(session, wish.claimed_by, "wish_withdrawn", "心愿已撤回", body, wish)
            wish.status = "closed"
        wish.submitter_id = None
        wish.alias = "已删除"
        wish.story = ""
        for name in (
            "beneficiary_name",
            "school",
            "contact_phone",
            "info_answer",
            "info_request",
            "public_alias",
            "public_story",
            "thank_you",
            "reject_reason",
            "delivered_note",
        ):
            setattr(wish, name, None)
    for wish in session.scalars(select(Wish).where(Wish.claimed_by == user.id).with_for_update()):
        if wish.status == "claimed":
            record_change(session, SUBJECT, wish.id, "claimed", "approved", actor, "认领人注销")
            wish.status = "approved"
            wish.claimed_at = wish.claim_expires_at = None
            body = f"您的心愿「{wish.public_item}」的认领人已取消认领，心愿已重新回到心愿墙。"
            tell(session, wish.submitter_id, "wish_reopened", "心愿重新上墙", body, wish)
        wish.claimed_by = None
        wish.donor_org = None
        wish.delivered_note = None
