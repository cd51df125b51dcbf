"""Bulk import of traineeship posts from CSV/XLSX, and staff exports of applications and sign-ups.

Import policy: every row is validated first; the valid ones are then created in ONE transaction. A row
with an error is reported with its spreadsheet line number and skipped, so staff fix only those rows and
import them again; a database failure creates nothing, so a half-imported file never has to be untangled.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import guarded, retry_locked
from services.eligibility import BEIJING, EDUCATION_LABELS, aware
from services.errors import Invalid, NotFound
from services.listing_data import validate_traineeship
from services.models import Activity, Application, Signup, StatusChange, Traineeship, User

HEADERS = {
    "标题": "title",
    "单位": "employer",
    "区域": "district",
    "领域": "field",
    "学历": "education",
    "补贴": "stipend",
    "名额": "positions",
    "地点": "location",
    "描述": "description",
    "截止日期": "deadline",
    "年龄下限": "age_min",
    "年龄上限": "age_max",
    "限本区": "residents_of",
    "户籍区": "residents_of",
}
COLUMNS = set(HEADERS.values())
LABELS = {column: header for header, column in reversed(HEADERS.items())}


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # the spreadsheet's line number (the header is line 1)
    fields: dict[str, str]

    def __str__(self) -> str:
        return f"第 {self.row} 行：" + " ".join(f"{LABELS.get(k, k)}：{v}" for k, v in self.fields.items())


@dataclass(slots=True)
class ImportReport:
    created: list[int] = field(default_factory=list)  # ids of the new posts
    errors: list[RowError] = field(default_factory=list)


def _column(header: Any) -> str | None:
    text = str(header or "").strip()
    key = HEADERS.get(text, text.lower())
    return key if key in COLUMNS else None


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a .csv (UTF-8, BOM or not) or .xlsx (first sheet) as dicts keyed by English column names.
    rows[i] is spreadsheet line i + 2. Unknown columns are dropped; blank lines are kept as empty dicts so
    the numbering stays true (the importer skips them)."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        lines = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
        book.close()
    elif path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            lines = [list(r) for r in csv.reader(fh)]
    else:
        raise Invalid("只支持 .csv 和 .xlsx 文件。", fields={"file": path.suffix or "无扩展名"})
    if not lines:
        return []
    keys = [_column(h) for h in lines[0]]
    if "title" not in keys:
        raise Invalid("第一行需要列名，如：标题、单位、区域、领域。", fields={"header": "缺少“标题/title”列"})
    return [
        {k: v for k, v in zip(keys, line, strict=False) if k is not None and v not in (None, "")}
        for line in lines[1:]
    ]


@retry_locked
def import_traineeships(
    session: Session,
    rows: list[dict[str, Any]],
    actor: str,
    progress: Callable[[int], None] | None = None,
    *,
    publish: bool = False,
) -> ImportReport:
    """Create a post per valid row (drafts unless `publish`); `progress(1)` is called after each row."""
    report = ImportReport()
    valid: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        if any(v not in (None, "") for v in row.values()):
            try:
                valid.append(validate_traineeship({k: v for k, v in row.items() if k in COLUMNS}))
            except Invalid as exc:
                report.errors.append(RowError(index + 2, exc.fields or {}))
        if progress is not None:
            progress(1)
    if not valid:
        return report

    def work() -> list[Traineeship]:
        now = datetime.now(BEIJING)
        status = "open" if publish else "draft"
        posts = [
            Traineeship(**{"positions": 1, **v}, status=status, published_at=now if publish else None)
            for v in valid
        ]
        session.add_all(posts)
        session.flush()
        session.add_all(
            StatusChange(
                subject="traineeship", subject_id=p.id, to_status=status, actor=actor, reason="批量导入"
            )
            for p in posts
        )
        return posts

    report.created = [p.id for p in guarded(session, work)]
    return report


# -- exports -----------------------------------------------------------------------------------------------
def write_table(headers: list[str], rows: list[list[Any]], fmt: str, sheet: str = "导出") -> bytes:
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(headers)
        writer.writerows(rows)
        return ("\ufeff" + buf.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        ws = book.create_sheet(sheet[:31])
        ws.append(headers)
        for row in rows:
            ws.append(row)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    raise Invalid("导出格式只能是 xlsx 或 csv。", fields={"format": fmt})


def local_time(value: datetime | None) -> str:
    """A stored time as an export cell shows it (Beijing time, to the minute)."""
    stamp = aware(value)
    return stamp.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if stamp else ""


APPLICATION_LABELS = {
    "submitted": "已提交",
    "reviewing": "审核中",
    "accepted": "已录用",
    "declined": "未通过",
    "withdrawn": "已撤回",
}
SIGNUP_LABELS = {"confirmed": "已确认", "waitlisted": "候补", "cancelled": "已取消"}


def export_applications(session: Session, traineeship_id: int, fmt: str) -> bytes:
    """Staff only: phone numbers are exported in FULL so staff can call applicants."""
    post = session.get(Traineeship, traineeship_id)
    if post is None:
        raise NotFound("没有找到这个见习岗位。")
    query = select(Application).where(Application.traineeship_id == traineeship_id).order_by(Application.id)
    rows = [
        [
            a.id,
            a.name,
            a.phone,
            a.school,
            a.major,
            a.graduation_year,
            APPLICATION_LABELS.get(a.status, a.status),
            a.note or "",
            local_time(a.created_at),
        ]
        for a in session.scalars(query)
    ]
    headers = ["申请编号", "姓名", "手机", "学校", "专业", "毕业年份", "状态", "备注", "提交时间"]
    return write_table(headers, rows, fmt, sheet=post.title)


def export_signups(session: Session, activity_id: int, fmt: str) -> bytes:
    """Staff only: phone numbers (from the profile, when given) are exported in FULL. Confirmed first, then
    the waitlist in promotion order, then cancellations."""
    activity = session.get(Activity, activity_id)
    if activity is None:
        raise NotFound("没有找到这个活动。")
    order = {"confirmed": 0, "waitlisted": 1, "cancelled": 2}
    query = (
        select(Signup, User)
        .join(User, User.id == Signup.user_id)
        .where(Signup.activity_id == activity_id)
        .order_by(Signup.queued_at, Signup.id)
    )
    pairs = sorted(session.execute(query).all(), key=lambda p: order.get(p[0].status, 3))
    rows = [
        [
            s.id,
            u.nickname or "",
            u.phone or "",
            u.age_band or "",
            u.district or "",
            EDUCATION_LABELS.get(u.education or "", ""),
            SIGNUP_LABELS.get(s.status, s.status),
            local_time(s.queued_at),
        ]
        for s, u in pairs
    ]
    headers = ["报名编号", "昵称", "手机", "年龄段", "区域", "学历", "状态", "报名/排队时间"]
    return write_table(headers, rows, fmt, sheet=activity.title)
