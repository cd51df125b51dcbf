"""Console micro-wish screens through HTTP: the review queue, approve only once identifying details are edited
out, reject with a reason, ask for more, claimed and overdue lists, history; editors only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from services import wishes
from services.eligibility import utcnow
from services.models import UserNotice
from services.models_wishes import Wish
from tests.console_fixtures import *  # noqa: F403
from tests.console_fixtures import audit_trail
from tests.factories import make_user

DATA = {
    "on_behalf_of": "guardian",
    "age_band": "14to17",
    "alias": "小雨",
    "district": "西城区",
    "item": "一个新书包",
    "story": "李小雨在红星中学读初二，书包背了三年已经破了，希望新学期能有一个结实的书包。",
    "price_band": "100to300",
    "beneficiary_name": "李小雨",
    "school": "红星中学",
    "contact_phone": "13812345678",
}


def _submit(session: Any, **changes: Any) -> Wish:
    return wishes.submit_wish(session, make_user(session), {**DATA, **changes}, in_miniprogram=True)


def _notices(session: Any, user_id: int | None) -> list[str]:
    session.expire_all()
    return [n.kind for n in session.scalars(select(UserNotice).where(UserNotice.user_id == user_id))]


def test_review_queue_approve_after_editing_out_identifying_details(editor: Any, db_session: Any) -> None:
    wish = _submit(db_session)
    queue = editor.get("/console/wishes")
    assert queue.status_code == 200 and "一个新书包" in queue.text

    detail = editor.get(f"/console/wishes/{wish.id}")
    assert "李小雨" in detail.text and "红星中学" in detail.text and "13812345678" in detail.text

    refused = editor.post(f"/console/wishes/{wish.id}/approve", data={})
    assert refused.status_code == 400
    assert 'data-error-for="public_story"' in refused.text and "可识别身份" in refused.text
    db_session.expire_all()
    assert db_session.get(Wish, wish.id).status == "submitted"

    story = "孩子在读初二，书包背了三年已经破了，希望新学期能有一个结实的书包。"
    approved = editor.post(f"/console/wishes/{wish.id}/approve", data={"public_story": story})
    assert approved.status_code == 302
    db_session.expire_all()
    wish = db_session.get(Wish, wish.id)
    assert (wish.status, wish.public_story, wish.public_alias) == ("approved", story, "小雨")
    assert _notices(db_session, wish.submitter_id) == ["wish_approved"]

    edited = editor.post(f"/console/wishes/{wish.id}/edit", data={"public_item": "一个结实的书包"})
    assert edited.status_code == 302
    page = editor.get(f"/console/wishes/{wish.id}")
    assert "一个结实的书包" in page.text and "修改公开内容" in page.text
    assert "待审核 → 已上墙" in page.text
    actions = audit_trail(db_session, f"wish:{wish.id}")
    assert actions == ["wish.approve", "wish.edit_public"]


def test_reject_needs_a_reason_and_ask_for_more(editor: Any, db_session: Any) -> None:
    first = _submit(
        db_session, story="孩子想要一套课外读物，希望能培养阅读的习惯和兴趣。", beneficiary_name=None
    )
    second = _submit(
        db_session, item="一双运动鞋", story="孩子参加校队训练，运动鞋已经磨破了，想要一双新的。"
    )

    empty = editor.post(f"/console/wishes/{first.id}/reject", data={"reason": ""})
    assert empty.status_code == 400 and 'data-error-for="reason"' in empty.text
    assert (
        editor.post(f"/console/wishes/{first.id}/reject", data={"reason": "不属于帮扶范围"}).status_code
        == 302
    )
    asked = editor.post(f"/console/wishes/{second.id}/ask", data={"question": "请说明孩子所在年级"})
    assert asked.status_code == 302
    db_session.expire_all()
    assert db_session.get(Wish, first.id).status == "rejected"
    assert db_session.get(Wish, second.id).status == "needs_info"
    assert _notices(db_session, first.submitter_id) == ["wish_rejected"]
    assert _notices(db_session, second.submitter_id) == ["wish_needs_info"]
    assert "请说明孩子所在年级" in editor.get(f"/console/wishes/{second.id}").text
    assert "一双运动鞋" in editor.get("/console/wishes?tab=needs_info").text
    assert "一双运动鞋" not in editor.get("/console/wishes?tab=review").text

    # A move the rules do not allow is explained, not a crash.
    again = editor.post(f"/console/wishes/{first.id}/ask", data={"question": "再补充一下"})
    assert again.status_code == 400 and "不能改为" in again.text


def test_claimed_and_overdue_lists(editor: Any, db_session: Any) -> None:
    soon = _submit(db_session, item="一盒彩笔", story="孩子喜欢画画，想要一盒二十四色的彩笔，谢谢好心人。")
    later = _submit(db_session, item="一本字典", story="孩子上初中了需要一本新华字典查生字，谢谢大家的帮助。")
    now = utcnow()
    for wish, expires in ((soon, now - timedelta(hours=1)), (later, now + timedelta(days=6))):
        db_session.execute(
            update(Wish)
            .where(Wish.id == wish.id)
            .values(
                status="claimed",
                claimed_at=now,
                claim_expires_at=expires,
                claimed_by=make_user(db_session).id,
            )
        )
    db_session.commit()
    claimed = editor.get("/console/wishes?tab=claimed")
    assert "一盒彩笔" in claimed.text and "一本字典" in claimed.text
    overdue = editor.get("/console/wishes?tab=overdue")
    assert "一盒彩笔" in overdue.text and "一本字典" not in overdue.text


def test_wishes_are_for_editors_only(viewer: Any, counselor: Any, db_session: Any) -> None:
    wish = _submit(db_session)
    for who in (viewer, counselor):
        assert who.get("/console/wishes").status_code == 403
        assert who.get(f"/console/wishes/{wish.id}").status_code == 403
        assert (
            who.post(f"/console/wishes/{wish.id}/reject", data={"reason": "不合适的内容"}).status_code == 403
        )
    db_session.expire_all()
    assert db_session.get(Wish, wish.id).status == "submitted"
