"""Bulk import from CSV/XLSX with per-row errors, and staff exports of applications and sign-ups."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import Workbook, load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from services import activities, traineeships
from services.errors import Invalid
from services.models import StatusChange, Traineeship
from tests.factories import APPLY_FORM, make_activity, make_traineeship, make_user

ROWS = [
    ["标题", "单位", "区域", "领域", "学历", "补贴", "名额", "截止日期", "年龄上限", "备注"],
    ["柜员见习", "某银行金融街支行", "西城区", "金融", "本科", "3500元", "3", "2099-12-31", "24", "忽略"],
    ["导诊见习", "某医院", "西城区", "医疗", "", "", "", "", "", ""],
    ["", "缺标题", "西城区", "文化", "", "", "", "", "", ""],
    ["", "", "", "", "", "", "", "", "", ""],
    ["讲解见习", "某博物馆", "西城区", "文化", "小学", "很多", "", "明天", "", ""],
]


def write_csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(ROWS)
    return path


def write_xlsx(path: Path) -> Path:
    book = Workbook()
    for row in ROWS:
        book.active.append([c if c != "" else None for c in row])
    book.save(path)
    return path


@pytest.mark.parametrize("writer", [write_csv, write_xlsx])
def test_import_reports_bad_rows_and_creates_good_ones(db_session: Session, tmp_path: Path, writer) -> None:
    rows = traineeships.read_rows(writer(tmp_path / f"posts.{writer.__name__[-3:].replace('lsx', 'xlsx')}"))
    seen: list[int] = []
    report = traineeships.import_traineeships(
        db_session, rows, "staff:li", progress=seen.append, publish=True
    )
    assert sum(seen) == len(rows) == 5
    assert len(report.created) == 2
    assert [(e.row, sorted(e.fields)) for e in report.errors] == [
        (4, ["title"]),
        (6, ["deadline", "education", "stipend"]),
    ]
    assert "第 6 行" in str(report.errors[1])
    first = db_session.get(Traineeship, report.created[0])
    assert first is not None and first.status == "open" and first.education == "bachelor"
    assert (first.stipend, first.positions, first.age_max) == (3500, 3, 24)
    assert len(db_session.scalars(select(StatusChange).where(StatusChange.reason == "批量导入")).all()) == 2


def test_import_with_english_headers_makes_drafts(db_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_text(
        "title,employer,district,field,positions\n前端见习,某公司,西城区,信息技术,2\n", encoding="utf-8"
    )
    report = traineeships.import_traineeships(db_session, traineeships.read_rows(path), "staff:li")
    assert db_session.get(Traineeship, report.created[0]).status == "draft"  # type: ignore[union-attr]
    bad = tmp_path / "posts.txt"
    bad.write_text("x")
    with pytest.raises(Invalid):
        traineeships.read_rows(bad)


def test_export_applications_and_signups(db_session: Session) -> None:
    post = make_traineeship(db_session, title="柜员见习")
    for phone in ("13800138000", "13900139000"):
        traineeships.apply(db_session, make_user(db_session), post.id, **{**APPLY_FORM, "phone": phone})
    text = traineeships.export_applications(db_session, post.id, "csv").decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:3] == ["申请编号", "姓名", "手机"] and len(table) == 3
    assert [r[2] for r in table[1:]] == ["13800138000", "13900139000"]  # full numbers: staff only
    book = load_workbook(io.BytesIO(traineeships.export_applications(db_session, post.id, "xlsx")))
    assert book.active.max_row == 3 and book.active["C2"].value == "13800138000"

    activity = make_activity(db_session, capacity=1)
    first = make_user(db_session, nickname="小王", phone="13700137000")
    second = make_user(db_session, nickname="小李")
    activities.sign_up(db_session, first, activity.id)
    activities.sign_up(db_session, second, activity.id)
    rows = list(
        csv.reader(io.StringIO(activities.export_signups(db_session, activity.id, "csv").decode("utf-8-sig")))
    )
    assert [(r[1], r[2], r[6]) for r in rows[1:]] == [("小王", "13700137000", "已确认"), ("小李", "", "候补")]
    with pytest.raises(Invalid):
        activities.export_signups(db_session, activity.id, "pdf")


def test_cli_import_with_progress_and_export(app: Flask, db_session: Session, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["traineeships", "import", str(write_csv(tmp_path / "p.csv")), "--publish"])
    assert result.exit_code == 1
    assert "created 2, rejected 2 row(s)" in result.output and "第 4 行" in result.output
    post_id = db_session.scalars(select(Traineeship.id).order_by(Traineeship.id)).first()
    out = tmp_path / "apps.xlsx"
    result = runner.invoke(args=["traineeships", "export", str(post_id), "--format", "xlsx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert load_workbook(out).active["A1"].value == "申请编号"
    activity = make_activity(db_session)
    out = tmp_path / "signups.csv"
    result = runner.invoke(args=["activities", "export", str(activity.id), "--format", "csv", "-o", str(out)])
    assert result.exit_code == 0 and out.read_bytes().startswith(b"\xef\xbb\xbf")
