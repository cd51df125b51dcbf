"""Console activity screens through HTTP: create, publish, close, cancel; sign-up lists with filters; a staff
removal that hands the seat to the waitlist and tells both people; export."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select

from services import activities
from services.models import Activity, Signup, UserNotice
from tests.console_fixtures import *  # noqa: F403
from tests.console_fixtures import audit_trail
from tests.factories import make_activity, make_user

FORM = {
    "title": "周末读书会",
    "category": "读书会",
    "district": "西城区",
    "location": "西城区青年之家",
    "starts_at": "2099-05-01T14:00",
    "ends_at": "2099-05-01T16:00",
    "capacity": "20",
    "waitlist": "1",
}


def test_create_publish_close_and_cancel(editor: Any, db_session: Any) -> None:
    bad = editor.post(
        "/console/activities/new", data={**FORM, "ends_at": "2099-05-01T10:00", "capacity": "0"}
    )
    assert bad.status_code == 400
    assert 'data-error-for="ends_at"' in bad.text and 'data-error-for="capacity"' in bad.text
    assert db_session.scalars(select(Activity)).first() is None

    created = editor.post("/console/activities/new", data=FORM)
    assert created.status_code == 302
    activity = db_session.scalars(select(Activity)).one()
    assert (activity.status, activity.capacity, activity.waitlist) == ("draft", 20, True)
    assert editor.post(f"/console/activities/{activity.id}/publish").status_code == 302

    page = editor.get("/console/activities?status=published")
    assert "周末读书会" in page.text
    assert "周末读书会" not in editor.get("/console/activities?status=draft").text

    # A refused edit shows the edit form again (not the new one) with the problem, and changes nothing.
    refused = editor.post(f"/console/activities/{activity.id}/edit", data={**FORM, "capacity": "0"})
    assert refused.status_code == 400
    assert "编辑：周末读书会" in refused.text and 'data-error-for="capacity"' in refused.text
    edited = editor.post(f"/console/activities/{activity.id}/edit", data={**FORM, "capacity": "30"})
    assert edited.status_code == 302
    assert editor.post(f"/console/activities/{activity.id}/close", data={"reason": "报满"}).status_code == 302
    db_session.expire_all()
    activity = db_session.get(Activity, activity.id)
    assert (activity.capacity, activity.status) == (30, "closed")

    person = make_user(db_session)
    db_session.execute(
        Signup.__table__.insert().values(activity_id=activity.id, user_id=person.id, status="confirmed")
    )
    db_session.commit()
    editor.post(f"/console/activities/{activity.id}/cancel", data={"reason": "场地维修"})
    db_session.expire_all()
    assert db_session.get(Activity, activity.id).status == "cancelled"
    notice = db_session.scalars(select(UserNotice).where(UserNotice.user_id == person.id)).one()
    assert "场地维修" in notice.body
    actions = audit_trail(db_session, f"activity:{activity.id}")
    assert actions == [
        "activity.create",
        "activity.publish",
        "activity.update",
        "activity.close",
        "activity.cancel",
    ]


def test_signups_filter_remove_and_promote(editor: Any, viewer: Any, db_session: Any) -> None:
    activity = make_activity(db_session, title="登山", capacity=1)
    first = make_user(db_session, nickname="小王", phone="13900001111", district="西城区")
    second = make_user(db_session, nickname="小李", phone="13900002222", district="东城区")
    activities.sign_up(db_session, first, activity.id)
    waiting = activities.sign_up(db_session, second, activity.id)
    assert waiting.status == "waitlisted"

    page = editor.get(f"/console/activities/{activity.id}")
    assert "小王" in page.text and "小李" in page.text and "13900001111" in page.text
    masked = viewer.get(f"/console/activities/{activity.id}")
    assert "139****1111" in masked.text and "13900001111" not in masked.text
    assert "取消报名" not in masked.text
    only_waitlist = editor.get(f"/console/activities/{activity.id}?status=waitlisted")
    assert "小李" in only_waitlist.text and "小王" not in only_waitlist.text
    by_district = editor.get(f"/console/activities/{activity.id}?district=西城区")
    assert "小王" in by_district.text and "小李" not in by_district.text

    confirmed = db_session.scalars(select(Signup).where(Signup.user_id == first.id)).one()
    assert viewer.post(f"/console/signups/{confirmed.id}/cancel").status_code == 403
    removed = editor.post(
        f"/console/signups/{confirmed.id}/cancel",
        data={"reason": "重复报名", "activity_id": str(activity.id)},
    )
    assert removed.status_code == 302
    db_session.expire_all()
    statuses = {s.user_id: s.status for s in db_session.scalars(select(Signup))}
    assert statuses == {first.id: "cancelled", second.id: "confirmed"}
    assert db_session.get(Activity, activity.id).confirmed == 1
    told = {n.user_id: n.kind for n in db_session.scalars(select(UserNotice))}
    assert told == {first.id: "signup_cancelled", second.id: "waitlist_promoted"}

    again = editor.post(
        f"/console/signups/{confirmed.id}/cancel",
        data={"activity_id": str(activity.id)},
        follow_redirects=True,
    )
    assert "已经取消" in again.text


def test_export_signups_opens_in_openpyxl(editor: Any, db_session: Any) -> None:
    activity = make_activity(db_session, title="导出活动")
    activities.sign_up(db_session, make_user(db_session, nickname="小赵", phone="13700001234"), activity.id)
    response = editor.get(f"/console/activities/{activity.id}/export?format=xlsx")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.data)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("报名编号", "昵称", "手机")
    assert rows[1][1:3] == ("小赵", "13700001234")
    csv_response = editor.get(f"/console/activities/{activity.id}/export?format=csv")
    assert csv_response.data.decode("utf-8-sig").splitlines()[1].split(",")[1] == "小赵"
