"""`/api/v1/match/…` with real logins against the sandbox: profile with its own consent and content safety,
events with eligibility, sign-up with the single declaration, cancellation, check-in, withdrawal, and the
promise that nothing about one participant reaches another (checked by scanning every response)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from services.models import UserNotice
from services.models_matchmaking import MatchEvent, MatchProfile, MatchSignup
from tests.api_fixtures import Api, Session, api_fixture, assert_envelope  # noqa: F401
from tests.matchmaking_helpers import make_event

PROFILE = {
    "consent": True,
    "nickname": "小林",
    "age": 27,
    "gender": "male",
    "occupation": "金融",
    "self_intro": "喜欢爬山和读书，性格开朗，希望认识真诚善良的你。",
}


def event(api: Api, **fields: Any) -> int:
    return int(api.query(lambda s: make_event(s, **fields).id))


def put(user: Session, body: dict[str, Any]) -> Any:
    return user.api.client.put("/api/v1/match/profile", headers=user.headers, json=body)


def count(api: Api, model: Any, **where: Any) -> int:
    def q(s: Any) -> int:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(s.scalar(query) or 0)

    return int(api.query(q))


def test_profile_consent_minors_and_content_safety(api: Api) -> None:
    stranger = api.login()
    assert_envelope(put(stranger, PROFILE), 403, "consent_required")  # the general privacy consent first
    user = api.consenting_user(age_band="25to35")
    assert_envelope(user.get("/api/v1/match/profile"), 404, "not_found")
    refused = assert_envelope(put(user, {**PROFILE, "consent": False}), 422, "invalid")
    assert "consent" in refused["fields"]
    assert_envelope(put(user, {**PROFILE, "age": 17}), 403, "not_eligible")
    assert_envelope(put(user, {k: v for k, v in PROFILE.items() if k != "consent"}), 422, "validation_error")
    assert count(api, MatchProfile) == 0

    saved = put(user, PROFILE)
    assert saved.status_code == 200, saved.get_json()
    body = saved.get_json()
    assert body["intro_status"] == "pass" and body["birth_year"] == datetime.now(UTC).year - 27
    assert user.get("/api/v1/match/profile").get_json() == body

    held = put(user, {**PROFILE, "self_intro": PROFILE["self_intro"] + "有事加微信聊"})
    assert held.status_code == 200 and held.get_json()["intro_status"] == "review"
    risky = assert_envelope(put(user, {**PROFILE, "self_intro": PROFILE["self_intro"] + "带你去赌博"}), 422)
    assert "self_intro" in risky["fields"]
    stored = api.query(lambda s: s.scalars(select(MatchProfile)).one().self_intro)
    assert "赌博" not in stored


def test_events_show_eligibility_and_never_the_checkin_code(api: Api) -> None:
    young = event(api, title="联谊 22-30", age_min=22, age_max=30, checkin_code="97531")
    older = event(api, title="联谊 31-35", age_min=31, age_max=35)
    event(api, title="草稿", status="draft")
    user = api.consenting_user(age_band="25to35")
    listed = user.get("/api/v1/match/events")
    assert listed.status_code == 200
    items = {e["id"]: e for e in listed.get_json()["items"]}
    assert set(items) == {young, older}
    assert items[young]["eligible"] is None and "资料" in items[young]["eligibility_reason"]
    assert items[young]["gender_balanced"] and items[young]["seats_left_male"] == 2
    assert "97531" not in listed.get_data(as_text=True)

    assert put(user, PROFILE).status_code == 200
    items = {e["id"]: e for e in user.get("/api/v1/match/events").get_json()["items"]}
    assert items[young]["eligible"] is True and items[older]["eligible"] is False
    assert "31" in items[older]["eligibility_reason"]
    detail = user.get(f"/api/v1/match/events/{older}")
    assert detail.status_code == 200 and detail.get_json()["eligible"] is False
    assert_envelope(
        user.post(f"/api/v1/match/events/{older}/signup", json={"single": True}), 403, "not_eligible"
    )
    draft_id = api.query(lambda s: s.scalar(select(MatchEvent.id).where(MatchEvent.status == "draft")))
    assert_envelope(user.get(f"/api/v1/match/events/{draft_id}"), 404)
    assert_envelope(api.client.get("/api/v1/match/events"), 401)


def test_sign_up_cancel_check_in_and_mine(api: Api) -> None:
    soon = event(
        api, starts_at=datetime.now(UTC) + timedelta(hours=1), requires_review=False, checkin_code="2468"
    )
    strict = event(api, cancel_deadline=datetime.now(UTC) - timedelta(minutes=5))
    user = api.consenting_user(age_band="25to35")
    assert_envelope(
        user.post(f"/api/v1/match/events/{soon}/signup", json={"single": True}), 403, "not_eligible"
    )
    assert put(user, PROFILE).status_code == 200
    no = assert_envelope(user.post(f"/api/v1/match/events/{soon}/signup", json={"single": False}), 422)
    assert "single" in no["fields"]

    first = user.post(f"/api/v1/match/events/{soon}/signup", json={"single": True})
    assert first.status_code == 200 and first.get_json()["status"] == "approved"
    again = user.post(f"/api/v1/match/events/{soon}/signup", json={"single": True})
    assert again.get_json()["id"] == first.get_json()["id"]
    assert first.get_json()["event"]["seats_left_male"] == 1

    assert_envelope(user.post(f"/api/v1/match/events/{soon}/checkin", json={"code": "0000"}), 422)
    checked = user.post(f"/api/v1/match/events/{soon}/checkin", json={"code": "2468"})
    assert checked.status_code == 200 and checked.get_json()["checked_in_at"]

    pending = user.post(f"/api/v1/match/events/{strict}/signup", json={"single": True})
    assert pending.get_json()["status"] == "pending"
    assert_envelope(user.delete(f"/api/v1/match/events/{strict}/signup"), 409, "deadline_passed")
    mine = user.get("/api/v1/match/signups").get_json()["items"]
    assert {(m["event_id"], m["status"]) for m in mine} == {(soon, "approved"), (strict, "pending")}

    other = event(api)
    user.post(f"/api/v1/match/events/{other}/signup", json={"single": True})
    cancelled = user.delete(f"/api/v1/match/events/{other}/signup")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert_envelope(api.consenting_user().delete(f"/api/v1/match/events/{other}/signup"), 404)


def _scan(user: Session, paths: list[str]) -> str:
    texts = []
    for path in paths:
        response = user.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        texts.append(json.dumps(response.get_json(), ensure_ascii=False))
    return "\n".join(texts)


def test_no_participant_sees_anything_of_another(api: Api) -> None:
    shared = event(api, seats_male=1, seats_female=1)
    alice = api.consenting_user(age_band="25to35")
    secret = {
        **PROFILE,
        "nickname": "晨曦独有昵称",
        "gender": "female",
        "occupation": "医疗独有领域",
        "self_intro": "独一无二的自我介绍文字，喜欢攀岩和长笛。",
        "photo_url": "https://example.com/alice-unique.jpg",
    }
    assert put(alice, secret).status_code == 200
    alice_phone = "13912345678"
    api.query(lambda s: _set_phone(s, alice.user_id, alice_phone))
    assert alice.post(f"/api/v1/match/events/{shared}/signup", json={"single": True}).status_code == 200

    bob = api.consenting_user(age_band="25to35")
    assert put(bob, PROFILE).status_code == 200
    assert bob.post(f"/api/v1/match/events/{shared}/signup", json={"single": True}).status_code == 200
    seen = _scan(
        bob,
        [
            "/api/v1/match/events",
            f"/api/v1/match/events/{shared}",
            "/api/v1/match/signups",
            "/api/v1/match/profile",
            "/api/v1/me",
            "/api/v1/me/notices",
        ],
    )
    for value in (*(secret[k] for k in ("nickname", "occupation", "self_intro", "photo_url")), alice_phone):
        assert value not in seen
    assert alice.openid not in seen and '"user_id"' not in seen


def _set_phone(session: Any, user_id: int, phone: str) -> None:
    from services.models import User

    user = session.get(User, user_id)
    user.phone = phone
    session.commit()


def test_withdrawal_deletes_everything_and_promotes(api: Api) -> None:
    shared = event(api, seats_male=1, seats_female=1)
    leaving = api.consenting_user(age_band="25to35")
    waiting = api.consenting_user(age_band="25to35")
    for user in (leaving, waiting):
        assert put(user, PROFILE).status_code == 200
        user.post(f"/api/v1/match/events/{shared}/signup", json={"single": True})
    response = leaving.delete("/api/v1/match/profile")
    assert response.status_code == 204
    assert count(api, MatchProfile, user_id=leaving.user_id) == 0
    assert count(api, MatchSignup, user_id=leaving.user_id) == 0
    assert_envelope(leaving.get("/api/v1/match/profile"), 404)
    assert leaving.get("/api/v1/match/signups").get_json()["items"] == []
    assert waiting.get("/api/v1/match/signups").get_json()["items"][0]["status"] == "pending"
    assert count(api, UserNotice, user_id=waiting.user_id, kind="match_promoted") == 1
    assert leaving.delete("/api/v1/match/profile").status_code == 204  # nothing left: still fine
