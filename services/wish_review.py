"""Micro-wishes, the staff side: the review queue, approve (with edits that remove identifying details),
reject with a reason, ask for more, take down or archive, and the full history of a wish."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import guarded, record_change, retry_locked
from services.eligibility import utcnow
from services.errors import Invalid, InvalidTransition, NotFound
from services.models import StatusChange
from services.models_wishes import Wish
from services.wish_claims import SUBJECT, locked, tell
from services.wish_rules import PUBLIC, STATUS_LABELS, clean_text, identifying_details


# -- staff -----------------------------------------------------------------------------------------
def review_queue(session: Session, status: str = "submitted") -> list[Wish]:
    """Staff: wishes in one status, oldest first (submitted ones wait for review)."""
    return list(session.scalars(select(Wish).where(Wish.status == status).order_by(Wish.created_at, Wish.id)))


def get_wish(session: Session, wish_id: int) -> Wish:
    """Staff: everything about a wish."""
    wish = session.get(Wish, wish_id)
    if wish is None:
        raise NotFound("没有找到这个心愿。")
    return wish


def wish_history(session: Session, wish_id: int) -> list[StatusChange]:
    """Staff: every transition of a wish, oldest first."""
    get_wish(session, wish_id)
    return list(
        session.scalars(
            select(StatusChange)
            .where(StatusChange.subject == SUBJECT, StatusChange.subject_id == wish_id)
            .order_by(StatusChange.at, StatusChange.id)
        )
    )


def _public_fields(wish: Wish, edits: Mapping[str, str | None]) -> dict[str, str]:
    errors: dict[str, str] = {}
    chosen = {
        "public_alias": clean_text(
            "alias", edits.get("public_alias") or wish.public_alias or wish.alias, errors
        ),
        "public_item": clean_text("item", edits.get("public_item") or wish.public_item or wish.item, errors),
        "public_story": clean_text(
            "story", edits.get("public_story") or wish.public_story or wish.story, errors
        ),
    }
    for name, value in chosen.items():
        found = identifying_details(wish, value or "")
        if found:
            errors[name] = "公开内容仍含可识别身份的信息（" + "、".join(found) + "），请删改后再发布。"
    if errors:
        raise Invalid("公开内容需要修改。", fields=errors)
    return {k: v for k, v in chosen.items() if v is not None}


@retry_locked
def approve_wish(
    session: Session,
    wish_id: int,
    actor: str,
    *,
    public_alias: str | None = None,
    public_item: str | None = None,
    public_story: str | None = None,
) -> Wish:
    """Staff publish a wish on the wall, optionally with edited public text (identifying details removed).
    Publication is refused while the public text still holds the full name, the school or a phone number."""

    def work() -> Wish:
        wish = locked(session, wish_id)
        if wish.status != "submitted":
            raise InvalidTransition(f"心愿当前「{STATUS_LABELS.get(wish.status)}」，不能发布。")
        edits = {"public_alias": public_alias, "public_item": public_item, "public_story": public_story}
        for key, value in _public_fields(wish, edits).items():
            setattr(wish, key, value)
        edited = [k for k, v in edits.items() if v]
        record_change(
            session, SUBJECT, wish.id, "submitted", "approved", actor, "已编辑公开内容" if edited else None
        )
        wish.status = "approved"
        wish.approved_at = utcnow()
        body = f"您提交的心愿「{wish.public_item}」已通过审核，发布到了心愿墙上，等待爱心人士认领。"
        tell(session, wish.submitter_id, "wish_approved", "心愿审核通过", body, wish)
        return wish

    return guarded(session, work)


@retry_locked
def edit_public(session: Session, wish_id: int, actor: str, **edits: str | None) -> Wish:
    """Staff change what the wall shows of an approved wish (public_alias, public_item, public_story)."""
    unknown = set(edits) - {"public_alias", "public_item", "public_story"}
    if unknown:
        raise Invalid(fields={k: "不支持修改这一项。" for k in unknown})

    def work() -> Wish:
        wish = locked(session, wish_id)
        if wish.status not in PUBLIC:
            raise InvalidTransition("只有已发布的心愿可以修改公开内容。")
        for key, value in _public_fields(wish, edits).items():
            setattr(wish, key, value)
        record_change(session, SUBJECT, wish.id, wish.status, wish.status, actor, "修改公开内容")
        return wish

    return guarded(session, work)


def _staff_move(
    session: Session, wish_id: int, actor: str, allowed: tuple[str, ...], new: str, text: str | None
) -> Wish:
    wish = locked(session, wish_id)
    if wish.status not in allowed:
        raise InvalidTransition(
            f"心愿当前「{STATUS_LABELS.get(wish.status)}」，不能改为「{STATUS_LABELS[new]}」。"
        )
    record_change(session, SUBJECT, wish.id, wish.status, new, actor, text)
    wish.status = new
    return wish


def _required(name: str, value: str | None) -> str:
    errors: dict[str, str] = {}
    text = clean_text(name, value, errors)
    if text is None:
        raise Invalid(fields=errors)
    return text


@retry_locked
def reject_wish(session: Session, wish_id: int, actor: str, reason: str) -> Wish:
    """Staff turn a wish down (before anyone claimed it), with a reason the submitter is told."""
    reason = _required("reason", reason)

    def work() -> Wish:
        wish = _staff_move(
            session, wish_id, actor, ("submitted", "needs_info", "approved"), "rejected", reason
        )
        wish.reject_reason = reason
        body = f"很抱歉，您提交的心愿「{wish.item}」未通过审核。原因：{reason}"
        tell(session, wish.submitter_id, "wish_rejected", "心愿审核结果", body, wish)
        return wish

    return guarded(session, work)


@retry_locked
def request_info(session: Session, wish_id: int, actor: str, question: str) -> Wish:
    """Staff ask the submitter for more; the submitter answers with `answer_info`."""
    question = _required("reason", question)

    def work() -> Wish:
        wish = _staff_move(session, wish_id, actor, ("submitted",), "needs_info", question)
        wish.info_request = question
        body = f"您提交的心愿「{wish.item}」需要补充信息：{question}\n请在“我的心愿”中回复补充。"
        tell(session, wish.submitter_id, "wish_needs_info", "心愿需要补充信息", body, wish)
        return wish

    return guarded(session, work)


@retry_locked
def close_wish(session: Session, wish_id: int, actor: str, reason: str | None = None) -> Wish:
    """Staff archive a fulfilled wish, or take down one that nobody holds a claim on."""
    allowed = ("submitted", "needs_info", "approved", "rejected", "received")
    return guarded(session, lambda: _staff_move(session, wish_id, actor, allowed, "closed", reason))
