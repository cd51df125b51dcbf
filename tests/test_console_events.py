"""Console matchmaking events through HTTP: create, publish, close, cancel; sign-ups reviewed with a note
that reaches the person; profiles only for editors."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select

from services import matchmaking
from services.models import UserNotice
from services.models_matchmaking import MatchEvent, MatchSignup
from services.models_staff import AuditLog
from tests.console_fixtures import *  # noqa: F403
from tests.console_fixtures import audit_trail
from tests.factories import make_user
from tests.matchmaking_helpers import make_event, make_profile

FORM = {
    "title": "金融街单身青年联谊",
    "partner": "金融街团工委",
    "district": "西城区",
    "location": "西城区青年之家",
    "starts_at": "2099-06-01T14:00",
    "age_min": "22",
    "seats_male": "10",
    "seats_female": "10",
    "requires_review": "1",
}


def test_create_publish_close_and_cancel(editor: Any, db_session: Any) -> None:
    minors = editor.post("/console/events/new", data={**FORM, "age_min": "16"})
    assert minors.status_code == 400 and "仅限成年人" in minors.text
    assert editor.post("/console/events/new", data=FORM).status_code == 302
    event = db_session.scalars(select(MatchEvent)).one()
    assert (event.status, event.capacity, event.requires_review) == ("draft", 20, True)
    assert event.checkin_code  # generated when left blank

    assert editor.post(f"/console/events/{event.id}/publish").status_code == 302
    edited = editor.post(
        f"/console/events/{event.id}/edit", data={**FORM, "seats_male": "12", "seats_female": "12"}
    )
    assert edited.status_code == 302
    assert editor.post(f"/console/events/{event.id}/close", data={"reason": "报满"}).status_code == 302
    db_session.expire_all()
    event = db_session.get(MatchEvent, event.id)
    assert (event.capacity, event.status) == (24, "closed")
    assert "报满" in editor.get(f"/console/events/{event.id}").text
    assert editor.post(f"/console/events/{event.id}/cancel", data={"reason": "天气"}).status_code == 302
    db_session.expire_all()
    assert db_session.get(MatchEvent, event.id).status == "cancelled"
    listing = editor.get("/console/events?status=cancelled")
    assert "金融街单身青年联谊" in listing.text
    actions = audit_trail(db_session, f"match_event:{event.id}")
    assert actions == [
        "match_event.create",
        "match_event.publish",
        "match_event.update",
        "match_event.close",
        "match_event.cancel",
    ]


def test_review_sign_ups_and_profiles_only_for_editors(editor: Any, viewer: Any, db_session: Any) -> None:
    event = make_event(db_session, title="读书交友会")
    him, her = make_user(db_session), make_user(db_session)
    make_profile(db_session, him, "male", nickname="山川")
    make_profile(db_session, her, "female", nickname="明月", intro_verdict="review", intro_reason="含手机号")
    first = matchmaking.sign_up(db_session, him, event.id, single_declared=True)
    second = matchmaking.sign_up(db_session, her, event.id, single_declared=True)
    assert first.status == second.status == "pending"

    page = editor.get(f"/console/events/{event.id}")
    assert "山川" in page.text and "明月" in page.text and "需人工复核" in page.text
    watching = viewer.get(f"/console/events/{event.id}")
    assert (
        watching.status_code == 200
        and "山川" not in watching.text
        and event.checkin_code not in watching.text
    )
    assert (
        viewer.post(f"/console/match-signups/{first.id}/review", data={"decision": "approved"}).status_code
        == 403
    )

    ok = editor.post(
        f"/console/match-signups/{first.id}/review",
        data={"decision": "approved", "event_id": str(event.id)},
    )
    assert ok.status_code == 302
    no = editor.post(
        f"/console/match-signups/{second.id}/review",
        data={"decision": "declined", "note": "自我介绍请勿留联系方式", "event_id": str(event.id)},
    )
    assert no.status_code == 302
    db_session.expire_all()
    assert {s.id: s.status for s in db_session.scalars(select(MatchSignup))} == {
        first.id: "approved",
        second.id: "declined",
    }
    told = {n.user_id: n for n in db_session.scalars(select(UserNotice))}
    assert told[him.id].kind == "match_approved"
    assert told[her.id].kind == "match_declined" and "请勿留联系方式" in told[her.id].body
    pending_only = editor.get(f"/console/events/{event.id}?status=pending")
    assert "暂无报名" in pending_only.text

    again = editor.post(
        f"/console/match-signups/{first.id}/review",
        data={"decision": "declined", "event_id": str(event.id)},
        follow_redirects=True,
    )
    assert "只有待审核的报名可以审核" in again.text
    reviews = db_session.scalars(select(AuditLog).where(AuditLog.action == "match_signup.review")).all()
    assert [r.detail["decision"] for r in reviews] == ["approved", "declined"]

    sheet = editor.get(f"/console/events/{event.id}/export?format=xlsx")
    assert sheet.status_code == 200
    rows = list(load_workbook(io.BytesIO(sheet.data)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("报名编号", "昵称", "性别")
    assert [r[1:3] for r in rows[1:]] == [("山川", "男"), ("明月", "女")]  # approved before declined
    assert viewer.get(f"/console/events/{event.id}/export?format=xlsx").status_code == 403
