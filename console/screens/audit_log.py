"""The audit log (admins): who did what, when, to which record."""

from __future__ import annotations

from flask import render_template, request

from bot.extensions import db
from console.auth import require_role
from console.blueprint import bp, nav_item
from services import audit

nav_item("审计日志", "console.audit_log", "admin", order=90)


@bp.route("/audit")
@require_role("admin")
def audit_log() -> str:
    filters = {k: request.args.get(k, "").strip() or None for k in ("actor", "action", "target")}
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    result = audit.list_entries(db.session, page=page, **filters)
    page_args = {k: v for k, v in filters.items() if v}
    return render_template("console/audit_log.html", result=result, filters=filters, page_args=page_args)
