"""People through the services: find-or-create, profile validation, age ranges, erasure."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.extensions import db
from services import activities, traineeships, users
from services.errors import Invalid
from services.models import Activity, Application, Signup, StatusChange, User, UserNotice
from tests.factories import APPLY_FORM, make_activity, make_traineeship, make_user


def test_get_or_create_links_by_unionid_and_is_race_safe(db_session: Session) -> None:
    oa = users.get_or_create_oa_user(db_session, "oa-openid-1")
    oa.unionid = "union-1"
    db_session.commit()
    mp = users.get_or_create_mp_user(db_session, "mp-openid-1", unionid="union-1")
    assert mp.id == oa.id and mp.openid == "mp-openid-1"
    assert users.get_or_create_mp_user(db_session, "mp-openid-1").id == oa.id

    engine = db.engine  # threads have no app context
    ids: list[int] = []
    barrier = threading.Barrier(8)

    def first_visit() -> None:
        with Session(engine) as session:
            barrier.wait()
            ids.append(users.get_or_create_mp_user(session, "racing-openid").id)

    threads = [threading.Thread(target=first_visit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1
    assert (
        db_session.scalar(select(func.count()).select_from(User).where(User.openid == "racing-openid")) == 1
    )


def test_update_profile_validates_and_sets_consents(db_session: Session) -> None:
    user = make_user(db_session, age_band=None)
    with pytest.raises(Invalid) as exc:
        users.update_profile(db_session, user, age_band="old", education="phd", birth_year=1800, role="admin")
    assert set(exc.value.fields or {}) == {"age_band", "education", "birth_year", "role"}
    users.update_profile(
        db_session, user, age_band="under14", privacy_consent=True, guardian_consent=True, district=" 西城区 "
    )
    assert user.age_band == "under14" and user.district == "西城区"
    assert user.privacy_consent_at is not None and user.guardian_consent_at is not None
    users.update_profile(db_session, user, guardian_consent=False)
    assert user.guardian_consent_at is None


def test_age_of(db_session: Session) -> None:
    today = date(2026, 6, 1)
    assert users.age_of(User(age_band="under14"), today) == (6, 13)
    assert users.age_of(User(age_band="25to35"), today) == (25, 35)
    assert users.age_of(User(age_band="18to24", birth_year=2000), today) == (25, 26)
    assert users.age_of(User(), today) is None


def test_erase_user_releases_seats_and_keeps_anonymous_history(db_session: Session) -> None:
    activity = make_activity(db_session, capacity=1)
    post = make_traineeship(db_session)
    leaving, waiting = make_user(db_session, phone="13800138000"), make_user(db_session)
    activities.sign_up(db_session, leaving, activity.id)
    activities.sign_up(db_session, waiting, activity.id)
    traineeships.apply(db_session, leaving, post.id, **APPLY_FORM)
    leaving_id = leaving.id

    users.erase_user(db_session, leaving)
    assert db_session.get(User, leaving_id) is None
    for model in (Signup, Application, UserNotice):
        count = db_session.scalar(select(func.count()).select_from(model).where(model.user_id == leaving_id))
        assert count == 0, model
    assert db_session.scalars(select(Signup)).one().status == "confirmed"  # the waiting person moved up
    assert db_session.get(Activity, activity.id).confirmed == 1  # type: ignore[union-attr]
    actors = set(
        db_session.scalars(select(StatusChange.to_status).where(StatusChange.actor == f"user:{leaving_id}"))
    )
    assert {"withdrawn", "cancelled"} <= actors
