"""`/api/v1/me`: profile and consent, masked phone, the notice inbox, and erasure."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from services import notices, users
from services.models import ApiSession, Application, Signup, User, UserNotice
from tests.api_fixtures import Api, api_fixture, assert_envelope  # noqa: F401


def test_profile_read_and_update(api: Api) -> None:
    user = api.login()
    me = user.get("/api/v1/me").get_json()
    assert me["age_band"] is None and me["privacy_consent"] is False and me["phone_masked"] is None

    changes = {
        "nickname": "小青",
        "age_band": "18to24",
        "birth_year": 2003,
        "district": "西城区",
        "education": "bachelor",
        "privacy_consent": True,
    }
    updated = user.patch("/api/v1/me", json=changes).get_json()
    assert {k: updated[k] for k in changes} == changes
    assert user.get("/api/v1/me").get_json() == updated

    # Only what is sent changes; consent can be withdrawn.
    again = user.patch("/api/v1/me", json={"privacy_consent": False}).get_json()
    assert again["privacy_consent"] is False and again["nickname"] == "小青"


def test_phone_is_never_returned_in_full(api: Api) -> None:
    user = api.login()

    def set_phone(session: Any) -> None:
        users.update_profile(session, session.get(User, user.user_id), phone="13812345678")

    api.query(set_phone)
    response = user.get("/api/v1/me")
    assert response.get_json()["phone_masked"] == "138****5678"
    assert "13812345678" not in response.get_data(as_text=True)
    # Phone is not a field the API accepts.
    error = assert_envelope(user.patch("/api/v1/me", json={"phone": "13900000000"}), 422, "validation_error")
    assert error["fields"] == {"phone": "不支持该字段"}


def test_profile_validation_in_chinese(api: Api) -> None:
    user = api.login()
    response = user.patch("/api/v1/me", json={"age_band": "adult", "birth_year": "x", "nickname": "a" * 40})
    error = assert_envelope(response, 422, "validation_error")
    assert set(error["fields"]) == {"age_band", "birth_year", "nickname"}
    assert error["fields"]["nickname"] == "不能超过 32 个字符"
    assert error["fields"]["birth_year"] == "必须是整数"
    # A rule only the services know (a birth year more than 100 years ago) comes back the same way.
    error = assert_envelope(user.patch("/api/v1/me", json={"birth_year": 1901}), 422, "invalid")
    assert "birth_year" in error["fields"]


def test_notice_inbox_and_mark_read(api: Api) -> None:
    user, other = api.login(), api.login()

    def notify(session: Any) -> list[int]:
        owner = session.get(User, user.user_id)
        first = notices.notify(session, owner, "test", "第一条", "内容一", None)
        second = notices.notify(session, owner, "test", "第二条", "内容二", None)
        theirs = notices.notify(session, session.get(User, other.user_id), "test", "别人的", "x", None)
        return [first.id, second.id, theirs.id]

    first, _second, theirs = api.query(notify)
    inbox = user.get("/api/v1/me/notices").get_json()
    assert [n["title"] for n in inbox["items"]] == ["第二条", "第一条"] and inbox["unread"] == 2

    read = user.post(f"/api/v1/me/notices/{first}/read").get_json()
    assert read["read_at"] is not None
    assert user.post(f"/api/v1/me/notices/{first}/read").get_json()["read_at"] == read["read_at"]
    assert user.get("/api/v1/me/notices").get_json()["unread"] == 1
    # Someone else's notice looks exactly like one that does not exist.
    assert_envelope(user.post(f"/api/v1/me/notices/{theirs}/read"), 404, "not_found")
    assert_envelope(user.post("/api/v1/me/notices/999999/read"), 404, "not_found")
    assert other.get("/api/v1/me/notices").get_json()["unread"] == 1


def test_delete_me_erases_the_person(api: Api) -> None:
    user = api.consenting_user(district="西城区", education="bachelor")
    other = api.consenting_user()
    post = api.traineeship()
    activity = api.activity(capacity=1)
    form = {
        "name": "张三",
        "phone": "13812345678",
        "school": "北京大学",
        "major": "金融",
        "graduation_year": 2026,
    }
    assert user.post(f"/api/v1/traineeships/{post}/applications", json=form).status_code == 201
    assert user.post(f"/api/v1/activities/{activity}/signup").get_json()["status"] == "confirmed"
    assert other.post(f"/api/v1/activities/{activity}/signup").get_json()["status"] == "waitlisted"
    second_token = api.login(user.openid)

    response = user.delete("/api/v1/me")
    assert response.status_code == 204 and response.get_data() == b""

    assert_envelope(user.get("/api/v1/me"), 401, "unauthorized")
    assert_envelope(second_token.get("/api/v1/me"), 401, "unauthorized")

    def remaining(session: Any) -> dict[str, int]:
        def count(model: Any) -> int:
            return int(
                session.scalar(select(func.count()).select_from(model).where(model.user_id == user.user_id))
            )

        return {
            "user": int(
                session.scalar(select(func.count()).select_from(User).where(User.id == user.user_id))
            ),
            "sessions": count(ApiSession),
            "notices": count(UserNotice),
            "applications": count(Application),
            "signups": count(Signup),
        }

    assert remaining_all_zero(api.query(remaining))
    # The seat went to the person waiting.
    assert other.get("/api/v1/me/activities").get_json()["items"][0]["status"] == "confirmed"
    # Logging in again makes a fresh, empty profile.
    fresh = api.login(user.openid)
    assert fresh.user_id != user.user_id
    assert fresh.get("/api/v1/me/applications").get_json() == {"items": []}


def remaining_all_zero(counts: dict[str, int]) -> bool:
    assert counts == dict.fromkeys(counts, 0), counts
    return True
