"""Traineeships through the services: lists and filters, applying, status moves, notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services import notices, traineeships
from services.errors import Closed, DeadlinePassed, Invalid, InvalidTransition, NotEligible, NotFound
from services.models import Application, StatusChange, UserNotice
from services.traineeships import TraineeshipFilter
from tests.factories import APPLY_FORM, make_traineeship, make_user


def titles(page: Any) -> list[str]:
    return [p.title for p in page.items]


def test_list_newest_first_filters_and_stable_cursor(db_session: Session) -> None:
    now = datetime.now(UTC)
    for i in range(5):
        make_traineeship(db_session, title=f"银行柜员 {i}", published_at=now - timedelta(hours=i))
    make_traineeship(db_session, title="医院导诊", field="医疗", employer="某医院", published_at=now)
    make_traineeship(db_session, title="草稿", status="draft", published_at=None)
    make_traineeship(db_session, title="已截止", deadline=now - timedelta(days=1))
    make_traineeship(db_session, title="硕士岗", education="master", stipend=6000)
    make_traineeship(db_session, title="50%补贴", description="含_下划线")

    f = TraineeshipFilter(field="金融", keyword="银行")
    first = traineeships.list_traineeships(db_session, f, limit=2)
    assert titles(first) == ["银行柜员 0", "银行柜员 1"]
    # A post published meanwhile does not shift the pages already handed out.
    make_traineeship(db_session, title="银行新岗", published_at=now + timedelta(minutes=1))
    second = traineeships.list_traineeships(db_session, f, limit=2, cursor=first.next_cursor)
    assert titles(second) == ["银行柜员 2", "银行柜员 3"]
    third = traineeships.list_traineeships(db_session, f, limit=2, cursor=second.next_cursor)
    assert titles(third) == ["银行柜员 4"] and third.next_cursor is None

    assert titles(traineeships.list_traineeships(db_session, TraineeshipFilter(keyword="某医院"))) == [
        "医院导诊"
    ]
    assert titles(traineeships.list_traineeships(db_session, TraineeshipFilter(keyword="%"))) == ["50%补贴"]
    assert titles(traineeships.list_traineeships(db_session, TraineeshipFilter(keyword="_"))) == ["50%补贴"]
    assert "硕士岗" not in titles(
        traineeships.list_traineeships(db_session, TraineeshipFilter(education="bachelor"), limit=50)
    )
    assert titles(traineeships.list_traineeships(db_session, TraineeshipFilter(min_stipend=5000))) == [
        "硕士岗"
    ]
    every = titles(traineeships.list_traineeships(db_session, None, limit=50))
    assert "草稿" not in every and "已截止" not in every
    with pytest.raises(Invalid):
        traineeships.list_traineeships(db_session, None, cursor="not-a-cursor")


def test_apply_is_idempotent_and_withdraw_reopens(db_session: Session) -> None:
    post = make_traineeship(db_session)
    user = make_user(db_session)
    first, created = traineeships.apply(db_session, user, post.id, **APPLY_FORM)
    assert created and first.status == "submitted"
    again, created = traineeships.apply(db_session, user, post.id, **{**APPLY_FORM, "name": "李四"})
    assert not created and again.id == first.id and again.name == "张三"
    assert traineeships.withdraw(db_session, user, first.id).status == "withdrawn"
    reopened, created = traineeships.apply(db_session, user, post.id, **APPLY_FORM)
    assert created and reopened.id == first.id and reopened.status == "submitted"
    assert db_session.scalar(select(func.count()).select_from(Application)) == 1
    assert [a.id for a in traineeships.my_applications(db_session, user)] == [first.id]
    stranger = make_user(db_session)
    with pytest.raises(NotFound):
        traineeships.withdraw(db_session, stranger, first.id)


def test_apply_checks(db_session: Session) -> None:
    user = make_user(db_session, age_band="18to24", education="associate", district="西城区")
    with pytest.raises(Invalid) as exc:
        traineeships.apply(
            db_session, user, make_traineeship(db_session).id, **{**APPLY_FORM, "phone": "123", "name": ""}
        )
    assert set(exc.value.fields or {}) == {"phone", "name"}
    closed = make_traineeship(db_session, status="closed")
    with pytest.raises(Closed):
        traineeships.apply(db_session, user, closed.id, **APPLY_FORM)
    late = make_traineeship(db_session, deadline=datetime.now(UTC) - timedelta(minutes=1))
    with pytest.raises(DeadlinePassed):
        traineeships.apply(db_session, user, late.id, **APPLY_FORM)
    for fields in ({"education": "bachelor"}, {"age_min": 25}, {"age_max": 17}, {"residents_of": "东城区"}):
        post = make_traineeship(db_session, **fields)
        with pytest.raises(NotEligible):
            traineeships.apply(db_session, user, post.id, **APPLY_FORM)
    exact = make_user(db_session, birth_year=datetime.now().year - 30, age_band="18to24")
    with pytest.raises(NotEligible):  # the birth year wins over the band
        traineeships.apply(db_session, exact, make_traineeship(db_session, age_max=24).id, **APPLY_FORM)
    unknown = make_user(db_session, age_band=None)
    ok, _ = traineeships.apply(
        db_session, unknown, make_traineeship(db_session, education="master").id, **APPLY_FORM
    )
    assert ok.status == "submitted"
    assert db_session.scalar(select(func.count()).select_from(Application)) == 1


def test_status_transitions_record_and_notify(db_session: Session) -> None:
    post = make_traineeship(db_session, title="柜员")
    user = make_user(db_session, oa_openid="oa-1")
    application, _ = traineeships.apply(db_session, user, post.id, **APPLY_FORM)
    sent: list[str] = []
    notices.set_sender(lambda u, title, body: sent.append(body) or u.oa_openid is not None)
    with pytest.raises(InvalidTransition):
        traineeships.set_application_status(db_session, application.id, "accepted", actor="staff:wang")
    traineeships.set_application_status(db_session, application.id, "reviewing", actor="staff:wang")
    done = traineeships.set_application_status(
        db_session, application.id, "accepted", actor="staff:wang", note="请周一报到"
    )
    assert done.status == "accepted" and done.note == "请周一报到"
    with pytest.raises(InvalidTransition):
        traineeships.set_application_status(db_session, application.id, "withdrawn", actor="staff:wang")
    history = db_session.scalars(
        select(StatusChange).where(StatusChange.subject == "application").order_by(StatusChange.id)
    ).all()
    assert [(h.from_status, h.to_status, h.actor) for h in history] == [
        (None, "submitted", f"user:{user.id}"),
        ("submitted", "reviewing", "staff:wang"),
        ("reviewing", "accepted", "staff:wang"),
    ]
    assert history[-1].reason == "请周一报到"
    assert len(sent) == 2 and "已录用" in sent[-1] and "请周一报到" in sent[-1]
    inbox = db_session.scalars(select(UserNotice).order_by(UserNotice.id)).all()
    assert [n.delivered_via for n in inbox] == ["custom", "custom"]
    assert inbox[0].subject == f"application:{application.id}"


def test_no_sender_means_inbox_only(db_session: Session) -> None:
    post = make_traineeship(db_session)
    user = make_user(db_session)
    application, _ = traineeships.apply(db_session, user, post.id, **APPLY_FORM)
    traineeships.set_application_status(db_session, application.id, "reviewing", actor="staff:li")
    assert db_session.scalars(select(UserNotice)).one().delivered_via == "inbox"


def test_staff_post_lifecycle(db_session: Session) -> None:
    with pytest.raises(Invalid) as exc:
        traineeships.create_traineeship(db_session, {"title": "x", "education": "小学"}, "staff:li")
    assert {"employer", "district", "field", "education"} <= set(exc.value.fields or {})
    post = traineeships.create_traineeship(
        db_session,
        {
            "title": "文员",
            "employer": "某街道",
            "district": "西城区",
            "field": "社区服务",
            "education": "大专",
            "stipend": "2800元",
            "deadline": "2099/12/31",
        },
        "staff:li",
    )
    assert post.status == "draft" and post.education == "associate" and post.stipend == 2800
    with pytest.raises(NotFound):
        traineeships.get_traineeship(db_session, post.id)
    traineeships.update_traineeship(db_session, post.id, {"positions": 3}, "staff:li")
    traineeships.publish_traineeship(db_session, post.id, "staff:li")
    assert traineeships.get_traineeship(db_session, post.id).published_at is not None
    traineeships.close_traineeship(db_session, post.id, "staff:li", reason="已招满")
    with pytest.raises(InvalidTransition):
        traineeships.close_traineeship(db_session, post.id, "staff:li")
    with pytest.raises(Closed):
        traineeships.apply(db_session, make_user(db_session), post.id, **APPLY_FORM)
