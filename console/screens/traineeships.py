"""Traineeship screens: list, create, edit, publish, close; import with progress; applications; export."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from bot.extensions import db
from console import import_jobs
from console.auth import current_staff, require_role
from console.blueprint import bp, nav_item
from console.domain_common import (
    EDIT,
    READ,
    arg_text,
    back,
    checkbox,
    clean,
    export,
    fail_back,
    form_from,
    form_text,
    form_values,
    found_or_404,
    list_page,
    move,
    no_reason,
    page_arg,
    save_edit,
    save_form,
)
from services import staff_ops
from services.eligibility import EDUCATION_LABELS
from services.errors import DomainError, Invalid
from services.importing import read_rows
from services.listing_data import TRAINEESHIP_FIELDS as FIELDS
from services.models_staff import StaffUser
from services.staff_listings import (
    APPLICATION_STATUS,
    TRAINEESHIP_STATUS,
    history,
    staff_applications,
    staff_traineeships,
)
from services.traineeships import STAFF_MOVES, get_traineeship

DETAIL = "console.traineeship_detail"

nav_item("见习岗位", "console.traineeships", "viewer", order=30)


def _render_form(values: dict[str, Any], errors: dict[str, str], post: Any = None, status: int = 200) -> Any:
    return (
        render_template(
            "console/traineeships/form.html",
            values=values,
            errors=errors,
            post=post,
            education=EDUCATION_LABELS,
        ),
        status,
    )


@bp.get("/traineeships")
@require_role(*READ)
def traineeships() -> Any:
    return list_page(staff_traineeships, "console/traineeships/list.html", labels=TRAINEESHIP_STATUS)


@bp.route("/traineeships/new", methods=["GET", "POST"])
@require_role(*EDIT)
def traineeship_new() -> Any:
    if request.method == "GET":
        return _render_form({name: "" for name in FIELDS} | {"positions": "1"}, {})
    done = "已保存草稿「{title}」。发布后年轻人才能看到。"
    return save_form(staff_ops.create_traineeship, form_values(FIELDS), _render_form, done, DETAIL, "post_id")


@bp.route("/traineeships/<int:post_id>/edit", methods=["GET", "POST"])
@require_role(*EDIT)
def traineeship_edit(post_id: int) -> Any:
    post = _post_or_404(post_id)
    if request.method == "GET":
        return _render_form(form_from(post, FIELDS, ("deadline",)), {}, post)
    return save_edit(staff_ops.update_traineeship, post, form_values(FIELDS), _render_form, DETAIL, "post_id")


def _post_or_404(post_id: int) -> Any:
    return found_or_404(get_traineeship, post_id, include_unpublished=True)


@bp.get("/traineeships/<int:post_id>")
@require_role(*READ)
def traineeship_detail(post_id: int) -> Any:
    post = _post_or_404(post_id)
    status = arg_text("status")
    keyword = arg_text("q")
    result = staff_applications(db.session, post_id, status=status, keyword=keyword, page=page_arg())
    return render_template(
        "console/traineeships/detail.html",
        post=post,
        result=result,
        status=status,
        q=keyword or "",
        labels=APPLICATION_STATUS,
        post_labels=TRAINEESHIP_STATUS,
        moves=STAFF_MOVES,
        education=EDUCATION_LABELS,
        changes=history(db.session, "traineeship", post_id),
    )


@bp.post("/traineeships/<int:post_id>/publish")
@require_role(*EDIT)
def traineeship_publish(post_id: int) -> BaseResponse:
    return move(no_reason(staff_ops.publish_traineeship), post_id, "「{title}」已发布。", DETAIL, "post_id")


@bp.post("/traineeships/<int:post_id>/close")
@require_role(*EDIT)
def traineeship_close(post_id: int) -> BaseResponse:
    done = "「{title}」已关闭，不再接受申请。"
    return move(staff_ops.close_traineeship, post_id, done, DETAIL, "post_id")


@bp.post("/applications/<int:application_id>/status")
@require_role(*EDIT)
def application_status(application_id: int) -> BaseResponse:
    status = request.form.get("status", "")
    note = form_text("note", 500)
    try:
        application = staff_ops.set_application_status(
            db.session, current_staff(), application_id, status, note
        )
    except DomainError as exc:
        return fail_back(exc, "console.traineeships", DETAIL, "post_id")
    flash(f"已将 {application.name} 的申请改为「{APPLICATION_STATUS[status]}」，并通知了申请人。", "success")
    return back(DETAIL, post_id=application.traineeship_id)


@bp.get("/traineeships/<int:post_id>/export")
@require_role(*EDIT)
def traineeship_export(post_id: int) -> Any:
    post = _post_or_404(post_id)
    return export(staff_ops.export_applications, post_id, f"{post.title}-申请名单")


# -- import ------------------------------------------------------------------------------------------------
def _import_error(message: str) -> Any:
    return render_template("console/traineeships/import.html", error=message), 400


@bp.route("/traineeships/import", methods=["GET", "POST"])
@require_role(*EDIT)
def traineeship_import() -> Any:
    if request.method == "GET":
        return render_template("console/traineeships/import.html", error=None)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_error("请选择要导入的 CSV 或 XLSX 文件。")
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        return _import_error("只支持 .csv 和 .xlsx 文件。")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        upload.save(path)
        try:
            rows = read_rows(path)
        except Invalid as exc:
            detail = "；".join((exc.fields or {}).values())
            return _import_error(f"{exc.message}（{detail}）" if detail else exc.message)
        except Exception:  # a corrupt workbook: openpyxl raises many kinds
            return _import_error("文件无法读取，请确认是 UTF-8 编码的 CSV 或 Excel 的 .xlsx。")
    if not rows:
        return _import_error("文件里没有数据行。")
    # Spreadsheets carry stray control characters (PostgreSQL refuses NUL): drop them as the forms do.
    rows = [{k: clean(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows]
    staff_id = current_staff().id
    publish = checkbox("publish")
    filename = upload.filename

    def work(session: Any, rows: list[dict[str, Any]], progress: Any) -> Any:
        # The request's staff object belongs to the request's session: load the member again here, so a
        # role removed in the meantime is still refused.
        staff = session.get(StaffUser, staff_id)
        return staff_ops.import_traineeships(
            session, staff, rows, progress, publish=publish, filename=filename
        )

    job_id = import_jobs.start(current_app._get_current_object(), rows, work, filename=filename)  # type: ignore[attr-defined]
    return redirect(url_for("console.traineeship_import_job", job_id=job_id))


@bp.get("/traineeships/import/<job_id>")
@require_role(*EDIT)
def traineeship_import_job(job_id: str) -> Any:
    state = import_jobs.status(current_app, job_id)  # type: ignore[arg-type]
    if state is None:
        abort(404)
    return render_template("console/traineeships/import_job.html", job_id=job_id, job=state)


@bp.get("/traineeships/import/<job_id>/status")
@require_role(*EDIT)
def traineeship_import_status(job_id: str) -> Any:
    state = import_jobs.status(current_app, job_id)  # type: ignore[arg-type]
    if state is None:
        return jsonify(error={"code": "not_found", "message": "没有这个导入任务。"}), 404
    return jsonify(state)
