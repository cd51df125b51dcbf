"""Micro-wish screens (editors only: wishes hold children's details): the review queue and the other lists,
a wish with its history, and the review actions (approve with edits, edit the public text, reject with a
reason, ask for more, close, pass on a held thank-you)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from bot.extensions import db
from console.auth import current_staff, require_role
from console.blueprint import bp, nav_item
from console.domain_common import EDIT, back, field_errors, form_text, page_arg
from services import staff_wishes, wish_review
from services.errors import DomainError
from services.models_wishes import Wish
from services.wish_rules import AGE_BAND_LABELS, ON_BEHALF, PRICE_BANDS, STATUS_LABELS

nav_item("微心愿", "console.wishes", "editor", order=33)

PUBLIC_FIELDS = ("public_alias", "public_item", "public_story")


@bp.get("/wishes")
@require_role(*EDIT)
def wishes() -> Any:
    tab = request.args.get("tab", "review")
    if tab not in staff_wishes.TABS:
        tab = "review"
    result = staff_wishes.staff_wishes(db.session, current_staff(), tab, page_arg())  # type: ignore[arg-type]
    return render_template(
        "console/wishes/list.html", result=result, tab=tab, tabs=staff_wishes.TABS, labels=STATUS_LABELS
    )


def _detail(wish: Wish, errors: dict[str, str] | None = None, values: dict[str, str] | None = None) -> Any:
    return render_template(
        "console/wishes/detail.html",
        wish=wish,
        errors=errors or {},
        values=values or {},
        labels=STATUS_LABELS,
        on_behalf=ON_BEHALF,
        price_bands=PRICE_BANDS,
        age_bands=AGE_BAND_LABELS,
        changes=wish_review.wish_history(db.session, wish.id),
    )


@bp.get("/wishes/<int:wish_id>")
@require_role(*EDIT)
def wish_detail(wish_id: int) -> Any:
    return _detail(staff_wishes.get_wish(db.session, current_staff(), wish_id))  # type: ignore[arg-type]


def _act(wish_id: int, action: Callable[[Any], Any], done: str) -> Any:
    """Run a review action; a field problem re-shows the wish with what staff typed and the problem."""
    staff = current_staff()
    try:
        action(staff)
    except DomainError as exc:
        errors = field_errors(exc)
        flash(exc.message, "error")
        wish = staff_wishes.get_wish(db.session, staff, wish_id)  # type: ignore[arg-type]
        values = {k: request.form.get(k, "") for k in (*PUBLIC_FIELDS, "reason", "question")}
        return _detail(wish, errors, values), 400
    flash(done, "success")
    return back("console.wish_detail", wish_id=wish_id)


def _public_edits() -> dict[str, str | None]:
    return {k: form_text(k) for k in PUBLIC_FIELDS}


@bp.post("/wishes/<int:wish_id>/approve")
@require_role(*EDIT)
def wish_approve(wish_id: int) -> Any:
    edits = _public_edits()
    return _act(
        wish_id,
        lambda staff: staff_wishes.approve(db.session, staff, wish_id, **edits),
        "已通过审核并发布到心愿墙，已通知提交人。",
    )


@bp.post("/wishes/<int:wish_id>/edit")
@require_role(*EDIT)
def wish_edit_public(wish_id: int) -> Any:
    edits = _public_edits()
    return _act(
        wish_id,
        lambda staff: staff_wishes.edit_public(db.session, staff, wish_id, **edits),
        "已修改公开内容。",
    )


@bp.post("/wishes/<int:wish_id>/reject")
@require_role(*EDIT)
def wish_reject(wish_id: int) -> Any:
    reason = form_text("reason") or ""
    return _act(
        wish_id,
        lambda staff: staff_wishes.reject(db.session, staff, wish_id, reason),
        "已拒绝，并把原因告知提交人。",
    )


@bp.post("/wishes/<int:wish_id>/ask")
@require_role(*EDIT)
def wish_ask(wish_id: int) -> Any:
    question = form_text("question") or ""
    return _act(
        wish_id,
        lambda staff: staff_wishes.ask_for_more(db.session, staff, wish_id, question),
        "已请提交人补充信息。",
    )


@bp.post("/wishes/<int:wish_id>/close")
@require_role(*EDIT)
def wish_close(wish_id: int) -> BaseResponse:
    reason = form_text("reason", 200)
    return _act(wish_id, lambda staff: staff_wishes.close(db.session, staff, wish_id, reason), "心愿已关闭。")


@bp.post("/wishes/<int:wish_id>/release-thanks")
@require_role(*EDIT)
def wish_release_thanks(wish_id: int) -> BaseResponse:
    return _act(
        wish_id,
        lambda staff: staff_wishes.release_thank_you(db.session, staff, wish_id),
        "已把感谢留言转交给认领人。",
    )
