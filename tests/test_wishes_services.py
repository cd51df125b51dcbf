"""Micro-wishes through the services: consent gate, content safety, limits, review, claims (one winner under
concurrency), delivery, thanks, expiry, history and erasure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from sandbox.faults import Fault
from services import notices, users, wishes
from services.eligibility import utcnow
from services.errors import Closed, DomainError, Invalid, InvalidTransition, NotEligible, NotFound
from services.models import User, UserNotice
from services.models_wishes import Wish
from tests import test_services_activities
from tests.factories import make_user, make_users
from tests.test_services_activities import run_concurrently

engine = test_services_activities.engine  # the fixture: a pool wide enough for many threads

STAFF = "staff:王老师"


def wish_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "on_behalf_of": "guardian",
        "age_band": "14to17",
        "alias": "小雨",
        "district": "西城区",
        "item": "一个新书包",
        "story": "孩子的书包背了三年已经破了，希望新学期能有一个结实的书包。",
        "price_band": "100to300",
        "beneficiary_name": "李小雨",
        "school": "红星中学",
        "contact_phone": "13812345678",
    }
    data.update(changes)
    return data


def submit(session: Session, user: User, **changes: Any) -> Wish:
    return wishes.submit_wish(session, user, wish_data(**changes), in_miniprogram=True)


def published(session: Session, user: User | None = None, **changes: Any) -> Wish:
    wish = submit(session, user or make_user(session), **changes)
    return wishes.approve_wish(session, wish.id, STAFF)


def inbox(session: Session, user: User) -> list[UserNotice]:
    session.expire_all()
    return list(
        session.scalars(select(UserNotice).where(UserNotice.user_id == user.id).order_by(UserNotice.id))
    )


# -- submission ------------------------------------------------------------------------------------
def test_under_14_needs_a_guardians_consent_first(db_session: Session) -> None:
    user = make_user(db_session)
    with pytest.raises(DomainError) as refused:
        submit(db_session, user, age_band="under14")
    assert refused.value.code == "guardian_consent_required"
    assert db_session.scalar(select(Wish.id)) is None
    wish = submit(db_session, user, age_band="under14", guardian_consent=True)
    assert wish.guardian_consent_at is not None and wish.status == "submitted"
    # A child submitting for themself needs it too, whatever band they give the wish.
    child = make_user(db_session, age_band="under14")
    with pytest.raises(DomainError):
        submit(db_session, child, on_behalf_of="self", age_band="14to17")


def test_fields_are_validated_and_the_alias_is_not_the_full_name(db_session: Session) -> None:
    user = make_user(db_session)
    with pytest.raises(Invalid) as bad:
        submit(db_session, user, alias="李小雨", price_band="free", story="短", contact_phone="123", extra=1)
    assert set(bad.value.fields or {}) == {"alias", "price_band", "story", "contact_phone", "extra"}
    with pytest.raises(Invalid) as odd:
        submit(db_session, user, age_band=["under14"], on_behalf_of=None, story=42)
    assert set(odd.value.fields or {}) == {"age_band", "on_behalf_of", "story"}


def test_content_safety_outcomes(db_session: Session, sandbox: Any) -> None:
    user = make_user(db_session)
    # pass: WeChat checked it and our list agrees.
    assert submit(db_session, user).safety_suggest == "pass"
    # review: our list holds contact details for the reviewer.
    held = submit(db_session, user, story="孩子想要一双运动鞋，有意者请扫码联系，谢谢大家关心。")
    assert (held.safety_suggest, held.safety_source) == ("review", "keywords")
    # risky: refused, nothing stored.
    with pytest.raises(Invalid) as refused:
        submit(db_session, user, story="希望有人资助，我们家欠了高利贷，还不上了怎么办呢。")
    assert "安全检查" in refused.value.message
    assert db_session.scalar(select(Wish).where(Wish.story.contains("高利贷"))) is None


def test_wechat_down_means_the_reviewer_is_warned(db_session: Session, sandbox: Any) -> None:
    sandbox.state.set_fault("msg_sec_check", Fault(errcode=45009))
    try:
        wish = submit(db_session, make_user(db_session))
    finally:
        sandbox.state.clear_faults()
    assert (wish.safety_suggest, wish.safety_source) == ("review", "fallback")
    history = wishes.wish_history(db_session, wish.id)
    assert history[0].reason and "内容安全" in history[0].reason


def test_open_wishes_per_person_are_limited(make_app: Any, sandbox: Any) -> None:
    from bot.extensions import db

    app = make_app(WISH_OPEN_LIMIT_PER_USER=2)
    with app.app_context():
        session = db.session
        user = make_user(session)
        first = submit(session, user)
        submit(session, user)
        with pytest.raises(DomainError) as limited:
            submit(session, user)
        assert limited.value.code == "limit_reached" and "2" in limited.value.message
        wishes.reject_wish(session, first.id, STAFF, "信息无法核实")
        submit(session, user)  # a rejected wish no longer counts
        session.query(Wish).delete()
        session.commit()


# -- review ----------------------------------------------------------------------------------------
def test_review_approve_with_edits_reject_and_ask_for_more(db_session: Session) -> None:
    submitter = make_user(db_session)
    wish = submit(db_session, submitter, story="我在红星中学读初二，书包破了，希望有个新书包，谢谢。")
    # Publishing the school's name is refused; an edited story goes through.
    with pytest.raises(Invalid) as leaky:
        wishes.approve_wish(db_session, wish.id, STAFF)
    assert "学校" in (leaky.value.fields or {})["public_story"]
    with pytest.raises(Invalid):
        wishes.approve_wish(db_session, wish.id, STAFF, public_story="初二学生，电话13812345678，想要书包。")
    wishes.request_info(db_session, wish.id, STAFF, "请说明家庭困难的情况。")
    assert wish.status == "needs_info"
    with pytest.raises(InvalidTransition):
        wishes.approve_wish(db_session, wish.id, STAFF)
    wishes.answer_info(
        db_session, submitter, wish.id, "家里是低保户，妈妈一个人带两个孩子。", in_miniprogram=True
    )
    assert wish.status == "submitted" and wish.info_answer
    approved = wishes.approve_wish(
        db_session, wish.id, STAFF, public_story="初二学生，书包背了三年已经破了，希望新学期有个新书包。"
    )
    assert approved.status == "approved" and approved.public_story and "红星" not in approved.public_story
    assert approved.story.startswith("我在红星中学")  # the original stays for staff
    other = submit(db_session, submitter)
    wishes.reject_wish(db_session, other.id, STAFF, "同一家庭已有心愿在墙上")
    assert other.status == "rejected" and other.reject_reason
    steps = [(c.from_status, c.to_status) for c in wishes.wish_history(db_session, wish.id)]
    assert steps == [
        (None, "submitted"),
        ("submitted", "needs_info"),
        ("needs_info", "submitted"),
        ("submitted", "approved"),
    ]
    kinds = [n.kind for n in inbox(db_session, submitter)]
    assert kinds == ["wish_needs_info", "wish_approved", "wish_rejected"]


def test_wall_shows_only_approved_unclaimed_wishes_anonymised(db_session: Session) -> None:
    shown = published(db_session)
    submit(db_session, make_user(db_session))  # not reviewed yet
    taken = published(db_session)
    wishes.claim_wish(db_session, make_user(db_session), taken.id)
    page = wishes.list_wall(db_session)
    assert [w.id for w in page.items] == [shown.id]
    view = wishes.public_view(page.items[0])
    text = repr(view)
    for secret in ("李小雨", "红星中学", "13812345678"):
        assert secret not in text
    assert view.alias == "小雨" and view.available


# -- claims ----------------------------------------------------------------------------------------
def _claim(user_id: int, wish_id: int) -> Callable[[Session], str]:
    def job(session: Session) -> str:
        try:
            wishes.claim_wish(session, session.get(User, user_id), wish_id)  # type: ignore[arg-type]
            return "won"
        except Closed:
            return "lost"

    return job


def test_twenty_simultaneous_claims_have_one_winner(db_session: Session, engine: Engine) -> None:
    wish = published(db_session)
    donors = make_users(db_session, 20)
    outcomes = run_concurrently(engine, [_claim(d.id, wish.id) for d in donors])
    assert Counter(outcomes) == {"won": 1, "lost": 19}
    db_session.expire_all()
    winner = donors[outcomes.index("won")]
    assert db_session.get(Wish, wish.id).claimed_by == winner.id  # type: ignore[union-attr]
    claims = [c for c in wishes.wish_history(db_session, wish.id) if c.to_status == "claimed"]
    assert len(claims) == 1 and claims[0].actor == f"user:{winner.id}"


def test_claim_rules_deliver_receive_and_thanks(db_session: Session) -> None:
    submitter, donor, other = make_user(db_session), make_user(db_session), make_user(db_session)
    wish = published(db_session, submitter)
    with pytest.raises(NotEligible):
        wishes.claim_wish(db_session, submitter, wish.id)
    claimed = wishes.claim_wish(db_session, donor, wish.id, donor_org="金融街青年志愿者协会")
    assert claimed.claim_expires_at is not None and claimed.donor_org == "金融街青年志愿者协会"
    assert wishes.claim_wish(db_session, donor, wish.id).id == wish.id  # a double tap
    with pytest.raises(Closed):
        wishes.claim_wish(db_session, other, wish.id)
    with pytest.raises(NotFound):
        wishes.mark_delivered(db_session, other, wish.id)
    wishes.mark_delivered(db_session, donor, wish.id, note="已送到团区委，请查收", in_miniprogram=True)
    with pytest.raises(NotFound):
        wishes.confirm_received(db_session, wish.id, user=other)
    wishes.confirm_received(
        db_session, wish.id, user=submitter, thank_you="谢谢叔叔阿姨，书包我很喜欢！", in_miniprogram=True
    )
    assert wish.status == "received" and wish.thank_you_sent
    donor_notes = inbox(db_session, donor)
    assert donor_notes[-1].kind == "wish_received" and "书包我很喜欢" in donor_notes[-1].body
    assert [n.kind for n in inbox(db_session, submitter)][-2:] == ["wish_claimed", "wish_delivered"]
    assert "已送到团区委" in inbox(db_session, submitter)[-1].body
    steps = [c.to_status for c in wishes.wish_history(db_session, wish.id)]
    assert steps == ["submitted", "approved", "claimed", "delivered", "received"]


def test_a_held_thank_you_reaches_the_donor_after_staff_release_it(db_session: Session) -> None:
    submitter, donor = make_user(db_session), make_user(db_session)
    wish = published(db_session, submitter)
    wishes.claim_wish(db_session, donor, wish.id)
    # Staff confirm on the family's behalf; the note has a phone number, so it is held for review.
    wishes.confirm_received(db_session, wish.id, actor=STAFF, thank_you="谢谢！有事可以打13900001111")
    assert not wish.thank_you_sent
    assert "13900001111" not in inbox(db_session, donor)[-1].body
    wishes.release_thank_you(db_session, wish.id, STAFF)
    assert inbox(db_session, donor)[-1].kind == "wish_thanks"


def test_claims_per_donor_are_limited(make_app: Any, sandbox: Any) -> None:
    from bot.extensions import db

    app = make_app(WISH_CLAIM_LIMIT_PER_USER=1)
    with app.app_context():
        session = db.session
        donor = make_user(session)
        first, second = published(session), published(session)
        wishes.claim_wish(session, donor, first.id)
        with pytest.raises(DomainError) as limited:
            wishes.claim_wish(session, donor, second.id)
        assert limited.value.code == "limit_reached"
        wishes.mark_delivered(session, donor, first.id)
        wishes.claim_wish(session, donor, second.id)  # a delivered claim no longer counts
        session.query(Wish).delete()
        session.commit()


def test_expired_claims_return_to_the_wall_and_the_donor_is_told(db_session: Session) -> None:
    donor = make_user(db_session)
    stale, fresh, delivered = published(db_session), published(db_session), published(db_session)
    now = utcnow()
    wishes.claim_wish(db_session, donor, stale.id, now=now - timedelta(days=15))
    wishes.claim_wish(db_session, donor, fresh.id, now=now)
    wishes.claim_wish(db_session, donor, delivered.id, now=now - timedelta(days=15))
    wishes.mark_delivered(db_session, donor, delivered.id)
    assert wishes.expire_claims(db_session, now) == 1
    db_session.expire_all()
    assert (stale.status, stale.claimed_by, stale.claim_expires_at) == ("approved", None, None)
    assert fresh.status == "claimed" and delivered.status == "delivered"
    assert stale.id in [w.id for w in wishes.list_wall(db_session).items]
    assert inbox(db_session, donor)[-1].kind == "wish_claim_expired"
    assert wishes.wish_history(db_session, stale.id)[-1].actor == "system"
    assert wishes.expire_claims(db_session, now) == 0  # nothing twice


def test_withdraw_before_a_claim_only(db_session: Session) -> None:
    submitter = make_user(db_session)
    wish = published(db_session, submitter)
    assert wishes.withdraw_wish(db_session, submitter, wish.id).status == "closed"
    claimed = published(db_session, submitter)
    wishes.claim_wish(db_session, make_user(db_session), claimed.id)
    with pytest.raises(InvalidTransition):
        wishes.withdraw_wish(db_session, submitter, claimed.id)


def test_sender_sees_the_notice_after_commit(db_session: Session) -> None:
    sent: list[tuple[int, str]] = []
    notices.set_sender(lambda user, title, body: sent.append((user.id, title)) is None)
    submitter = make_user(db_session)
    wish = published(db_session, submitter)
    assert sent == [(submitter.id, "心愿审核通过")]
    assert wish.status == "approved"


# -- erasure ---------------------------------------------------------------------------------------
def test_erasing_the_submitter_scrubs_their_wishes_and_tells_the_donor(db_session: Session) -> None:
    submitter, donor = make_user(db_session), make_user(db_session)
    wish = published(db_session, submitter)
    wishes.claim_wish(db_session, donor, wish.id)
    pending = submit(db_session, submitter)
    users.erase_user(db_session, submitter)
    db_session.expire_all()
    for row in (db_session.get(Wish, wish.id), db_session.get(Wish, pending.id)):
        assert row is not None and row.status == "closed" and row.submitter_id is None
        assert row.beneficiary_name is None and row.school is None and row.contact_phone is None
        assert row.story == "" and row.public_story is None
    assert inbox(db_session, donor)[-1].kind == "wish_withdrawn"


def test_erasing_a_donor_returns_their_claims_to_the_wall(db_session: Session) -> None:
    submitter, donor = make_user(db_session), make_user(db_session)
    wish = published(db_session, submitter)
    wishes.claim_wish(db_session, donor, wish.id, donor_org="某公司")
    users.erase_user(db_session, donor)
    db_session.expire_all()
    row = db_session.get(Wish, wish.id)
    assert row is not None and (row.status, row.claimed_by, row.donor_org) == ("approved", None, None)
    assert inbox(db_session, submitter)[-1].kind == "wish_reopened"
