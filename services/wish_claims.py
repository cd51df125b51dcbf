"""Claiming a micro-wish and seeing it through: claim, give up, delivered, received (with a thank-you for the
donor), and claims that expire back to the wall.

Exactly one donor holds a wish: the claim is one conditional UPDATE (`… WHERE status = 'approved'`), never a
read followed by a write, so of any number of simultaneous claims the database lets one through. Every later
step is conditional on the status and the claimant in the same way.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services import content_safety, notices
from services.common import actor_of, guarded, record_change, retry_locked
from services.eligibility import aware, utcnow
from services.errors import Closed, Invalid, InvalidTransition, NotEligible, NotFound
from services.models import User
from services.models_wishes import Wish
from services.wish_rules import STATUS_LABELS, LimitReached, clean_text, limits

SUBJECT = "wish"


def locked(session: Session, wish_id: int) -> Wish:
    wish = session.get(Wish, wish_id, with_for_update=True, populate_existing=True)
    if wish is None:
        raise NotFound("没有找到这个心愿。")
    return wish


def tell(session: Session, user_id: int | None, kind: str, title: str, body: str, wish: Wish) -> None:
    """Queue a notice in the caller's transaction (sent after its commit); nobody to tell after erasure."""
    user = session.get(User, user_id) if user_id is not None else None
    if user is not None:
        notices.queue(session, user, kind, title, body, f"{SUBJECT}:{wish.id}")


def _optional(name: str, value: str | None) -> str | None:
    errors: dict[str, str] = {}
    text = clean_text(name, value, errors, required=False)
    if errors:
        raise Invalid(fields=errors)
    return text


def _passes(session: Session, user: User | None, text: str | None, in_miniprogram: bool) -> bool:
    """Whether a short message may be passed on to the other party as written (else staff look first)."""
    if not text:
        return False
    openid = (
        content_safety.miniprogram_openid(session, user, in_miniprogram=in_miniprogram)
        if user is not None
        else None
    )
    return content_safety.check_text(text, openid=openid).passed


def _conditional(session: Session, wish_id: int, *conditions: object, **values: object) -> bool:
    return bool(
        session.execute(
            update(Wish)
            .where(Wish.id == wish_id, *conditions)  # type: ignore[arg-type]
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


@retry_locked
def claim_wish(
    session: Session, user: User, wish_id: int, *, donor_org: str | None = None, now: datetime | None = None
) -> Wish:
    """Take a wish off the wall for this donor (optionally on behalf of an organisation). Idempotent for the
    donor who holds it; anyone else gets `Closed`. The claim expires after `WISH_CLAIM_EXPIRY_DAYS`."""
    org = _optional("donor_org", donor_org)
    now = now or utcnow()
    rules = limits()

    def work() -> Wish:
        wish = session.get(Wish, wish_id, populate_existing=True)
        if wish is None or wish.approved_at is None:
            raise NotFound("没有找到这个心愿。")
        if wish.claimed_by == user.id and wish.status in ("claimed", "delivered"):
            return wish  # a double tap
        if wish.submitter_id == user.id:
            raise NotEligible("不能认领自己提交的心愿。")
        held = session.scalar(
            select(func.count(Wish.id)).where(Wish.claimed_by == user.id, Wish.status == "claimed")
        )
        if (held or 0) >= rules.claims_per_user:
            raise LimitReached(
                f"每人同时最多认领 {rules.claims_per_user} 个未送达的心愿，请先完成已认领的心愿。"
            )
        won = _conditional(
            session,
            wish_id,
            Wish.status == "approved",
            status="claimed",
            claimed_by=user.id,
            donor_org=org,
            claimed_at=now,
            claim_expires_at=now + timedelta(days=rules.claim_expiry_days),
        )
        wish = locked(session, wish_id)
        if not won:
            if wish.claimed_by == user.id and wish.status in ("claimed", "delivered"):
                return wish  # our own concurrent double tap won
            if wish.status in ("claimed", "delivered", "received"):
                raise Closed("这个心愿已被其他爱心人士认领，去心愿墙看看别的心愿吧。")
            raise Closed("这个心愿已下架，去心愿墙看看别的心愿吧。")
        record_change(session, SUBJECT, wish.id, "approved", "claimed", actor_of(user), org)
        body = f"好消息！您的心愿「{wish.public_item}」已被" + (org or "爱心人士") + "认领，请留意送达通知。"
        tell(session, wish.submitter_id, "wish_claimed", "心愿已被认领", body, wish)
        return wish

    return guarded(session, work)


@retry_locked
def release_claim(session: Session, user: User, wish_id: int) -> Wish:
    """The donor gives the wish back to the wall before delivering it."""

    def work() -> Wish:
        if not _conditional(
            session,
            wish_id,
            Wish.status == "claimed",
            Wish.claimed_by == user.id,
            status="approved",
            claimed_by=None,
            donor_org=None,
            claimed_at=None,
            claim_expires_at=None,
        ):
            raise NotFound("您没有认领这个心愿，或心愿已送达。")
        wish = locked(session, wish_id)
        record_change(session, SUBJECT, wish.id, "claimed", "approved", actor_of(user), "认领人放弃认领")
        return wish

    return guarded(session, work)


@retry_locked
def mark_delivered(
    session: Session, user: User, wish_id: int, note: str | None = None, *, in_miniprogram: bool = False
) -> Wish:
    """The donor says the gift was handed over (with an optional note the submitter sees once it passes
    content safety). Only the claimant, only while the claim holds."""
    note = _optional("note", note)
    note_passes = _passes(session, user, note, in_miniprogram)

    def work() -> Wish:
        now = utcnow()
        if not _conditional(
            session,
            wish_id,
            Wish.status == "claimed",
            Wish.claimed_by == user.id,
            status="delivered",
            delivered_at=now,
            delivered_note=note,
        ):
            wish = session.get(Wish, wish_id, populate_existing=True)
            if wish is None or wish.claimed_by != user.id:
                raise NotFound("您没有认领这个心愿。")
            if wish.status == "delivered":
                return wish
            raise InvalidTransition(f"心愿当前「{STATUS_LABELS.get(wish.status)}」，不能标记为已送达。")
        wish = locked(session, wish_id)
        record_change(session, SUBJECT, wish.id, "claimed", "delivered", actor_of(user), note)
        body = f"您的心愿「{wish.public_item}」已由爱心人士送出，收到后请回复“心愿已收到”确认。"
        if note and note_passes:
            body += f"\n爱心人士留言：{note}"
        tell(session, wish.submitter_id, "wish_delivered", "心愿已送达", body, wish)
        return wish

    return guarded(session, work)


@retry_locked
def confirm_received(
    session: Session,
    wish_id: int,
    *,
    user: User | None = None,
    actor: str | None = None,
    thank_you: str | None = None,
    in_miniprogram: bool = False,
) -> Wish:
    """The submitter (`user`) or staff (`actor`) confirm the gift arrived, with an optional thank-you. The
    donor is told; the thank-you goes with it when content safety passes it, else after staff release it
    (`release_thank_you`). `in_miniprogram`: as for `submit_wish`."""
    if (user is None) == (actor is None):
        raise ValueError("give either the submitter or a staff actor")
    thanks = _optional("answer", thank_you) if thank_you and thank_you.strip() else None
    passes = _passes(session, user, thanks, in_miniprogram)

    def work() -> Wish:
        wish = locked(session, wish_id)
        if user is not None and wish.submitter_id != user.id:
            raise NotFound("没有找到这个心愿。")
        if wish.status == "received" and user is not None:
            return wish
        # Also from "claimed": the gift may arrive before the donor remembers to say so.
        if wish.status not in ("claimed", "delivered"):
            raise InvalidTransition(f"心愿当前「{STATUS_LABELS.get(wish.status)}」，还不能确认收到。")
        record_change(
            session,
            SUBJECT,
            wish.id,
            wish.status,
            "received",
            actor or actor_of(user),
            None,  # type: ignore[arg-type]
        )
        wish.status = "received"
        wish.received_at = utcnow()
        wish.thank_you = thanks
        wish.thank_you_sent = bool(thanks and passes)
        body = f"您认领的心愿「{wish.public_item}」已确认收到，谢谢您的爱心！"
        if wish.thank_you_sent:
            body += f"\n受助方的感谢：{thanks}"
        tell(session, wish.claimed_by, "wish_received", "心愿已收到", body, wish)
        return wish

    return guarded(session, work)


@retry_locked
def release_thank_you(session: Session, wish_id: int, actor: str) -> Wish:
    """Staff pass on a thank-you that content safety held back."""

    def work() -> Wish:
        wish = locked(session, wish_id)
        if not wish.thank_you or wish.thank_you_sent:
            raise InvalidTransition("没有待转交的感谢留言。")
        wish.thank_you_sent = True
        record_change(session, SUBJECT, wish.id, wish.status, wish.status, actor, "转交感谢留言")
        body = f"您认领的心愿「{wish.public_item}」的受助方给您留言：{wish.thank_you}"
        tell(session, wish.claimed_by, "wish_thanks", "来自受助方的感谢", body, wish)
        return wish

    return guarded(session, work)


def my_claims(session: Session, user: User) -> list[Wish]:
    """Wishes this donor holds or fulfilled, newest claim first."""
    return list(
        session.scalars(
            select(Wish).where(Wish.claimed_by == user.id).order_by(Wish.claimed_at.desc(), Wish.id.desc())
        )
    )


def expire_claims(session: Session, now: datetime) -> int:
    """Claims not delivered by their expiry go back to the wall; the donor is told. Returns how many.
    Safe beside a donor marking delivery at the same moment: each return is conditional on the status."""
    due = list(
        session.scalars(
            select(Wish.id).where(Wish.status == "claimed", Wish.claim_expires_at <= now).order_by(Wish.id)
        )
    )
    returned = 0
    for wish_id in due:
        returned += _expire_one(session, wish_id, now)
    return returned


@retry_locked
def _expire_one(session: Session, wish_id: int, now: datetime) -> int:
    def work() -> int:
        wish = session.get(Wish, wish_id, populate_existing=True)
        if wish is None:
            return 0
        donor, expires = wish.claimed_by, aware(wish.claim_expires_at)
        if not _conditional(
            session,
            wish_id,
            Wish.status == "claimed",
            Wish.claim_expires_at <= now,
            status="approved",
            claimed_by=None,
            donor_org=None,
            claimed_at=None,
            claim_expires_at=None,
        ):
            return 0
        record_change(session, SUBJECT, wish_id, "claimed", "approved", "system", "认领超时未送达，重新上墙")
        body = (
            f"您认领的心愿「{wish.public_item}」在 {expires:%Y-%m-%d} 前未送达，已重新回到心愿墙。"
            if expires
            else f"您认领的心愿「{wish.public_item}」已重新回到心愿墙。"
        )
        tell(session, donor, "wish_claim_expired", "心愿认领已过期", body, wish)
        return 1

    return int(guarded(session, work))
