"""Traineeships through the API: filters, cursor pages, detail, apply (idempotent), mine, withdraw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from services.models import Application
from tests.api_fixtures import Api, api_fixture, assert_envelope  # noqa: F401

FORM = {
    "name": "张三",
    "phone": "13812345678",
    "school": "北京大学",
    "major": "金融学",
    "graduation_year": 2026,
}


def test_list_filters_and_cursor_pages(api: Api) -> None:
    now = datetime.now(UTC)
    ids = [
        api.traineeship(
            title=f"银行见习 {i}", published_at=now - timedelta(minutes=i), stipend=2000 + 500 * i
        )
        for i in range(5)
    ]
    hospital = api.traineeship(title="医院行政见习", field="医疗", employer="某医院", education="associate")
    api.traineeship(title="草稿岗位", status="draft", published_at=None)
    api.traineeship(title="已截止", deadline=now - timedelta(days=1))
    api.traineeship(title="东城区岗位", district="东城区")

    everything = api.client.get("/api/v1/traineeships?limit=50").get_json()
    titles = [item["title"] for item in everything["items"]]
    assert "草稿岗位" not in titles and "已截止" not in titles and everything["next_cursor"] is None
    assert titles[:3] == ["东城区岗位", "医院行政见习", "银行见习 0"]  # newest published first

    seen: list[int] = []
    cursor = ""
    while True:
        page = api.client.get(f"/api/v1/traineeships?field=金融&district=西城区&limit=2&cursor={cursor}")
        body = page.get_json()
        assert page.status_code == 200 and len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"]]
        if not body["next_cursor"]:
            break
        cursor = body["next_cursor"]
    assert seen == ids

    def ids_for(query: str) -> list[int]:
        return [item["id"] for item in api.client.get(f"/api/v1/traineeships?{query}").get_json()["items"]]

    assert ids_for("keyword=医院") == [hospital]
    assert ids_for("min_stipend=3500") == [ids[3], ids[4]]
    assert hospital in ids_for("education=associate") and ids[0] not in ids_for("education=associate")
    error = assert_envelope(api.client.get("/api/v1/traineeships?cursor=garbage!"), 422, "invalid")
    assert "cursor" in error["fields"]
    assert_envelope(api.client.get("/api/v1/traineeships?education=phd"), 422, "validation_error")


def test_detail_and_unknown_or_draft_is_404(api: Api) -> None:
    post = api.traineeship(description="每周五天，导师带教")
    draft = api.traineeship(status="draft", published_at=None)
    detail = api.client.get(f"/api/v1/traineeships/{post}").get_json()
    assert (
        detail["id"] == post and detail["description"] == "每周五天，导师带教" and detail["is_sample"] is True
    )
    assert_envelope(api.client.get(f"/api/v1/traineeships/{draft}"), 404, "not_found")
    assert_envelope(api.client.get("/api/v1/traineeships/987654"), 404, "not_found")


def test_apply_needs_login_then_consent(api: Api) -> None:
    post = api.traineeship()
    assert_envelope(api.client.post(f"/api/v1/traineeships/{post}/applications", json=FORM), 401)
    user = api.login()
    assert_envelope(
        user.post(f"/api/v1/traineeships/{post}/applications", json=FORM), 403, "consent_required"
    )
    user.patch("/api/v1/me", json={"privacy_consent": True, "age_band": "under14"})
    response = user.post(f"/api/v1/traineeships/{post}/applications", json=FORM)
    assert_envelope(response, 403, "guardian_consent_required")
    # Who may apply is checked before any object is looked up: no probing ids without consent.
    assert_envelope(user.post("/api/v1/traineeships/999999/applications", json=FORM), 403)


def test_apply_is_idempotent_and_withdraw(api: Api) -> None:
    post = api.traineeship(title="金融街银行 · 数据见习")
    user = api.consenting_user(education="bachelor")
    first = user.post(f"/api/v1/traineeships/{post}/applications", json=FORM)
    assert first.status_code == 201
    application = first.get_json()
    assert (
        application["status"] == "submitted" and application["traineeship_title"] == "金融街银行 · 数据见习"
    )
    assert application["phone_masked"] == "138****5678" and "13812345678" not in first.get_data(as_text=True)

    again = user.post(f"/api/v1/traineeships/{post}/applications", json=FORM)
    assert again.status_code == 200 and again.get_json()["id"] == application["id"]
    mine = user.get("/api/v1/me/applications").get_json()["items"]
    assert [a["id"] for a in mine] == [application["id"]]

    withdrawn = user.post(f"/api/v1/me/applications/{application['id']}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    assert (
        user.post(f"/api/v1/me/applications/{application['id']}/withdraw").get_json()["status"] == "withdrawn"
    )
    # Applying again reopens the same application.
    reopened = user.post(f"/api/v1/traineeships/{post}/applications", json=FORM)
    assert reopened.status_code == 201 and reopened.get_json()["id"] == application["id"]


def test_other_users_applications_are_unreachable(api: Api) -> None:
    post = api.traineeship()
    owner, stranger = api.consenting_user(), api.consenting_user()
    application = owner.post(f"/api/v1/traineeships/{post}/applications", json=FORM).get_json()
    assert stranger.get("/api/v1/me/applications").get_json() == {"items": []}
    # Someone else's application and one that never existed answer the same.
    theirs = stranger.post(f"/api/v1/me/applications/{application['id']}/withdraw")
    missing = stranger.post("/api/v1/me/applications/999999/withdraw")
    assert assert_envelope(theirs, 404, "not_found") == assert_envelope(missing, 404, "not_found")
    assert owner.get("/api/v1/me/applications").get_json()["items"][0]["status"] == "submitted"


def test_decided_application_cannot_be_withdrawn(api: Api) -> None:
    post = api.traineeship()
    user = api.consenting_user()
    application = user.post(f"/api/v1/traineeships/{post}/applications", json=FORM).get_json()

    def decline(session: Any) -> None:
        session.execute(update(Application).values(status="declined"))
        session.commit()

    api.query(decline)
    response = user.post(f"/api/v1/me/applications/{application['id']}/withdraw")
    assert_envelope(response, 409, "invalid_transition")


def test_closed_deadline_and_eligibility_errors(api: Api) -> None:
    user = api.consenting_user(education="high_school")
    closed = api.traineeship(status="closed")
    needs_degree = api.traineeship(education="master")
    assert_envelope(user.post(f"/api/v1/traineeships/{closed}/applications", json=FORM), 409, "closed")
    error = assert_envelope(user.post(f"/api/v1/traineeships/{needs_degree}/applications", json=FORM), 403)
    assert error["code"] == "not_eligible"


def test_application_form_validation(api: Api) -> None:
    post = api.traineeship()
    user = api.consenting_user()
    bad = {**FORM, "phone": "12345", "graduation_year": 1800, "name": ""}
    error = assert_envelope(user.post(f"/api/v1/traineeships/{post}/applications", json=bad), 422)
    assert error["fields"] == {"phone": "格式不正确", "graduation_year": "不能小于 1950", "name": "不能为空"}
    missing = assert_envelope(user.post(f"/api/v1/traineeships/{post}/applications", json={}), 422)
    assert set(missing["fields"]) == set(FORM) and set(missing["fields"].values()) == {"必填"}
