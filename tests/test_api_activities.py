"""Activities through the API: list, detail with seats left, sign-up (idempotent, waitlist), cancel, mine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api_fixtures import Api, api_fixture, assert_envelope  # noqa: F401


def test_list_soonest_first_with_seats_left(api: Api) -> None:
    now = datetime.now(UTC)
    later = api.activity(title="非遗体验 · 剪纸", category="非遗体验", starts_at=now + timedelta(days=9))
    sooner = api.activity(title="志愿服务 · 社区清洁", category="志愿服务", capacity=10, confirmed=4)
    api.activity(title="草稿", status="draft")
    api.activity(title="已开始", starts_at=now - timedelta(hours=1))

    body = api.client.get("/api/v1/activities").get_json()
    assert [a["id"] for a in body["items"]] == [sooner, later] and body["next_cursor"] is None
    assert body["items"][0]["seats_left"] == 6

    first = api.client.get("/api/v1/activities?limit=1").get_json()
    assert [a["id"] for a in first["items"]] == [sooner]
    second = api.client.get(f"/api/v1/activities?limit=1&cursor={first['next_cursor']}").get_json()
    assert [a["id"] for a in second["items"]] == [later] and second["next_cursor"] is None

    assert [a["id"] for a in api.client.get("/api/v1/activities?category=非遗体验").get_json()["items"]] == [
        later
    ]
    assert [a["id"] for a in api.client.get("/api/v1/activities?keyword=清洁").get_json()["items"]] == [
        sooner
    ]


def test_detail_and_404(api: Api) -> None:
    activity = api.activity(capacity=5, confirmed=2)
    detail = api.client.get(f"/api/v1/activities/{activity}").get_json()
    assert detail["seats_left"] == 3 and detail["capacity"] == 5
    assert_envelope(api.client.get(f"/api/v1/activities/{api.activity(status='draft')}"), 404, "not_found")
    assert_envelope(api.client.get("/api/v1/activities/424242"), 404, "not_found")


def test_signup_confirmed_then_waitlisted_idempotent(api: Api) -> None:
    activity = api.activity(capacity=1)
    first, second = api.consenting_user(), api.consenting_user()

    signed = first.post(f"/api/v1/activities/{activity}/signup")
    assert signed.status_code == 200 and signed.get_json()["status"] == "confirmed"
    again = first.post(f"/api/v1/activities/{activity}/signup").get_json()
    assert again["id"] == signed.get_json()["id"] and again["status"] == "confirmed"
    assert api.client.get(f"/api/v1/activities/{activity}").get_json()["seats_left"] == 0

    waiting = second.post(f"/api/v1/activities/{activity}/signup").get_json()
    assert waiting["status"] == "waitlisted" and waiting["activity"]["id"] == activity

    mine = first.get("/api/v1/me/activities").get_json()["items"]
    assert [(s["activity_id"], s["status"]) for s in mine] == [(activity, "confirmed")]


def test_cancel_promotes_the_waitlist_and_notifies(api: Api) -> None:
    activity = api.activity(capacity=1, title="读书会 · 三体")
    first, second = api.consenting_user(), api.consenting_user()
    first.post(f"/api/v1/activities/{activity}/signup")
    second.post(f"/api/v1/activities/{activity}/signup")

    cancelled = first.delete(f"/api/v1/activities/{activity}/signup")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert first.delete(f"/api/v1/activities/{activity}/signup").get_json()["status"] == "cancelled"
    assert second.get("/api/v1/me/activities").get_json()["items"][0]["status"] == "confirmed"
    inbox = second.get("/api/v1/me/notices").get_json()
    assert inbox["unread"] == 1 and "三体" in inbox["items"][0]["body"]
    assert first.get("/api/v1/me/activities").get_json()["items"][0]["status"] == "cancelled"

    # Signing up again after cancelling reuses the row; the seat is gone, so it waits.
    again = first.post(f"/api/v1/activities/{activity}/signup").get_json()
    assert again["id"] == cancelled.get_json()["id"] and again["status"] == "waitlisted"


def test_cancel_without_signup_is_404_and_others_signups_untouched(api: Api) -> None:
    activity = api.activity()
    owner, stranger = api.consenting_user(), api.consenting_user()
    owner.post(f"/api/v1/activities/{activity}/signup")
    assert_envelope(stranger.delete(f"/api/v1/activities/{activity}/signup"), 404, "not_found")
    assert stranger.get("/api/v1/me/activities").get_json() == {"items": []}
    assert owner.get("/api/v1/me/activities").get_json()["items"][0]["status"] == "confirmed"


def test_signup_rules(api: Api) -> None:
    user = api.login()
    activity = api.activity(capacity=1, waitlist=False)
    assert_envelope(api.client.post(f"/api/v1/activities/{activity}/signup"), 401, "unauthorized")
    assert_envelope(user.post(f"/api/v1/activities/{activity}/signup"), 403, "consent_required")
    user.patch("/api/v1/me", json={"privacy_consent": True, "age_band": "18to24"})
    assert user.post(f"/api/v1/activities/{activity}/signup").get_json()["status"] == "confirmed"
    # Full without a waitlist, cancelled, past the deadline, not eligible.
    full = api.consenting_user()
    assert_envelope(full.post(f"/api/v1/activities/{activity}/signup"), 409, "closed")
    cancelled = api.activity(status="cancelled")
    assert_envelope(full.post(f"/api/v1/activities/{cancelled}/signup"), 409, "closed")
    late = api.activity(signup_deadline=datetime.now(UTC) - timedelta(hours=1))
    assert_envelope(full.post(f"/api/v1/activities/{late}/signup"), 409, "deadline_passed")
    kids_only = api.activity(age_min=6, age_max=12)
    assert_envelope(full.post(f"/api/v1/activities/{kids_only}/signup"), 403, "not_eligible")
    assert_envelope(full.post("/api/v1/activities/999999/signup"), 404, "not_found")
