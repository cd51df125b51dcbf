"""Console traineeship screens through HTTP: create, edit, publish, close; import with a bad row reported;
status changes that notify; export that opens in openpyxl; roles and masking."""

from __future__ import annotations

import io
import time
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select

from services import traineeships
from services.models import Application, Traineeship, UserNotice
from services.models_staff import AuditLog
from tests.console_fixtures import *  # noqa: F403
from tests.console_fixtures import audit_trail, create
from tests.factories import APPLY_FORM, make_traineeship, make_user


def _audit(session: Any, action: str) -> list[AuditLog]:
    session.expire_all()
    return list(session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def test_create_edit_publish_and_close(editor: Any, db_session: Any) -> None:
    page = editor.get("/console/traineeships/new")
    assert page.status_code == 200 and "新建见习岗位" in page.text

    bad = editor.post("/console/traineeships/new", data={"title": "", "employer": "某单位"})
    assert bad.status_code == 400
    assert 'data-error-for="title"' in bad.text and "必填" in bad.text

    created = editor.post(
        "/console/traineeships/new",
        data={
            "title": "金融街 · 柜面见习",
            "employer": "某银行",
            "district": "西城区",
            "field": "金融",
            "education": "bachelor",
            "stipend": "3000",
            "positions": "2",
            "deadline": "2099-12-31",
        },
    )
    assert created.status_code == 302
    post = db_session.scalars(select(Traineeship)).one()
    assert post.status == "draft" and post.stipend == 3000
    assert created.headers["Location"].endswith(f"/console/traineeships/{post.id}")

    edited = editor.post(
        f"/console/traineeships/{post.id}/edit",
        data={
            "title": "金融街 · 柜面见习（春季）",
            "employer": "某银行",
            "district": "西城区",
            "field": "金融",
            "positions": "3",
        },
    )
    assert edited.status_code == 302
    assert editor.post(f"/console/traineeships/{post.id}/publish").status_code == 302
    db_session.expire_all()
    post = db_session.get(Traineeship, post.id)
    assert (post.title, post.positions, post.status) == ("金融街 · 柜面见习（春季）", 3, "open")
    assert post.published_at is not None

    closed = editor.post(f"/console/traineeships/{post.id}/close", data={"reason": "招满了"})
    assert closed.status_code == 302
    db_session.expire_all()
    assert db_session.get(Traineeship, post.id).status == "closed"
    detail = editor.get(f"/console/traineeships/{post.id}")
    assert "已关闭" in detail.text and "招满了" in detail.text

    # Closing twice is refused with the service's reason, not a crash.
    again = editor.post(f"/console/traineeships/{post.id}/close", follow_redirects=True)
    assert "不能变为" in again.text

    actions = audit_trail(db_session, f"traineeship:{post.id}")
    assert actions == ["traineeship.create", "traineeship.update", "traineeship.publish", "traineeship.close"]
    assert all(e.actor == f"staff:{editor.username}" for e in _audit(db_session, "traineeship.publish"))


def test_viewer_reads_but_cannot_change(viewer: Any, db_session: Any) -> None:
    post = make_traineeship(db_session, title="只读岗位")
    listing = viewer.get("/console/traineeships")
    assert listing.status_code == 200 and "只读岗位" in listing.text
    assert "新建岗位" not in listing.text
    assert viewer.get("/console/traineeships/new").status_code == 403
    assert viewer.post(f"/console/traineeships/{post.id}/close").status_code == 403
    assert viewer.get(f"/console/traineeships/{post.id}/export?format=xlsx").status_code == 403
    assert viewer.get("/console/traineeships/import").status_code == 403
    db_session.expire_all()
    assert db_session.get(Traineeship, post.id).status == "open"


def test_service_layer_refuses_a_viewer_too(console_app: Any, db_session: Any) -> None:
    import pytest

    from services import staff_ops
    from services.errors import Forbidden
    from services.staff import get_staff

    viewer = get_staff(db_session, create(console_app, "viewer"))
    with pytest.raises(Forbidden):
        staff_ops.create_traineeship(
            db_session, viewer, {"title": "x", "employer": "y", "district": "z", "field": "w"}
        )
    assert db_session.scalars(select(Traineeship)).first() is None


def _wait_for_job(client: Any, status_url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        body = client.get(status_url, headers={"Accept": "application/json"}).get_json()
        if body["finished"] or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_import_reports_the_bad_row_and_creates_the_rest(editor: Any, db_session: Any) -> None:
    csv_text = (
        "标题,单位,区域,领域,补贴,截止日期\n"
        "会计见习,某事务所,西城区,财会,2500,2099-06-30\n"
        "缺单位的岗位,,西城区,金融,abc,\n"
        "编辑\x00见习,某出版社,东城区,文化,,\n"
    )
    upload = {"file": (io.BytesIO(csv_text.encode("utf-8")), "岗位.csv"), "publish": "1"}
    response = editor.post("/console/traineeships/import", data=upload, content_type="multipart/form-data")
    assert response.status_code == 302
    job_page = editor.get(response.headers["Location"])
    assert job_page.status_code == 200 and 'data-progress-url="' in job_page.text
    status_url = response.headers["Location"].split("?")[0] + "/status"
    body = _wait_for_job(editor, status_url)
    assert body["state"] == "done" and body["percent"] == 100 and body["total"] == 3
    assert len(body["created"]) == 2
    assert len(body["errors"]) == 1 and body["errors"][0].startswith("第 3 行")
    assert "单位" in body["errors"][0] and "补贴" in body["errors"][0]
    posts = db_session.scalars(select(Traineeship).order_by(Traineeship.id)).all()
    assert [(p.title, p.status) for p in posts] == [("会计见习", "open"), ("编辑见习", "open")]
    (entry,) = _audit(db_session, "traineeship.import")
    assert entry.detail["created"] == 2 and entry.detail["errors"] == 1


def test_import_refuses_a_file_without_headers_or_of_the_wrong_kind(editor: Any, db_session: Any) -> None:
    no_header = {"file": (io.BytesIO("随便,什么\n1,2\n".encode()), "x.csv")}
    response = editor.post("/console/traineeships/import", data=no_header, content_type="multipart/form-data")
    assert response.status_code == 400 and "标题" in response.text
    wrong = {"file": (io.BytesIO(b"%PDF"), "x.pdf")}
    response = editor.post("/console/traineeships/import", data=wrong, content_type="multipart/form-data")
    assert response.status_code == 400 and ".xlsx" in response.text
    assert editor.get("/console/traineeships/import/nope/status").status_code == 404


def test_application_status_change_notifies_and_phones_are_masked_for_viewers(
    editor: Any, viewer: Any, db_session: Any
) -> None:
    post = make_traineeship(db_session, title="图书馆见习")
    user = make_user(db_session)
    application, _ = traineeships.apply(db_session, user, post.id, **APPLY_FORM)

    detail = editor.get(f"/console/traineeships/{post.id}")
    assert "13800138000" in detail.text
    masked = viewer.get(f"/console/traineeships/{post.id}")
    assert "138****8000" in masked.text and "13800138000" not in masked.text
    assert (
        viewer.post(
            f"/console/applications/{application.id}/status", data={"status": "reviewing"}
        ).status_code
        == 403
    )

    moved = editor.post(
        f"/console/applications/{application.id}/status",
        data={"status": "reviewing", "note": "请准备面试", "post_id": str(post.id)},
    )
    assert moved.status_code == 302
    db_session.expire_all()
    assert db_session.get(Application, application.id).status == "reviewing"
    notice = db_session.scalars(select(UserNotice).where(UserNotice.user_id == user.id)).one()
    assert notice.kind == "application_status" and "审核中" in notice.body and "请准备面试" in notice.body
    (entry,) = _audit(db_session, "application.status")
    assert entry.target == f"application:{application.id}" and entry.detail["note"] == "请准备面试"

    # A move the rules do not allow is explained, and nothing changes.
    refused = editor.post(
        f"/console/applications/{application.id}/status",
        data={"status": "submitted", "post_id": str(post.id)},
        follow_redirects=True,
    )
    assert "不能改为" in refused.text
    filtered = editor.get(f"/console/traineeships/{post.id}?status=accepted")
    assert "暂无申请" in filtered.text


def test_export_opens_in_openpyxl(editor: Any, db_session: Any) -> None:
    post = make_traineeship(db_session, title="导出岗位")
    traineeships.apply(db_session, make_user(db_session), post.id, **APPLY_FORM)
    response = editor.get(f"/console/traineeships/{post.id}/export?format=xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(io.BytesIO(response.data)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("申请编号", "姓名", "手机")
    assert rows[1][1:3] == ("张三", "13800138000")
    assert editor.get(f"/console/traineeships/{post.id}/export?format=pdf").status_code == 400
    assert _audit(db_session, "application.export")[0].target == f"traineeship:{post.id}"


def test_import_of_a_file_larger_than_a_webhook_body(editor: Any, db_session: Any) -> None:
    """The app-wide body limit is sized for WeChat's pushes (64 KB); imports get their own, larger one."""
    description = "负责日常柜面业务辅助工作，参与客户服务与资料整理，" * 12
    lines = ["标题,单位,区域,领域,描述"] + [
        f"见习岗位{i},某单位{i},西城区,金融,{description}" for i in range(120)
    ]
    data = "\n".join(lines).encode("utf-8")
    assert len(data) > 64 * 1024
    response = editor.post(
        "/console/traineeships/import",
        data={"file": (io.BytesIO(data), "big.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.status_code
    body = _wait_for_job(editor, response.headers["Location"] + "/status")
    assert (body["state"], len(body["created"]), body["errors"]) == ("done", 120, [])
    assert db_session.scalar(select(func.count(Traineeship.id))) == 120


def test_control_characters_never_reach_the_database(editor: Any, db_session: Any) -> None:
    """PostgreSQL refuses NUL in text: a pasted one is dropped, not a 500."""
    form = {
        "title": "见习\x00岗位",
        "employer": "某单位",
        "district": "西城区",
        "field": "金融",
        "description": "第一行\n第二行",
    }
    assert editor.post("/console/traineeships/new", data=form).status_code == 302
    post = db_session.scalars(select(Traineeship)).one()
    assert (post.title, post.description) == ("见习岗位", "第一行\n第二行")
    assert editor.get("/console/traineeships?q=%00岗位").status_code == 200
    closed = editor.post(f"/console/traineeships/{post.id}/publish", data={"reason": "x\x00"})
    assert closed.status_code == 302
