"""Content (editors, counselors; admins sync the menu): the help directory, reply texts and the menu as the
bot uses them, each with the `content lint` results for its file."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from bot import content
from bot.cli import _menu_payload
from bot.content_lint import lint
from bot.extensions import db
from bot.wechat.errors import WeChatAPIError
from console.auth import current_staff, require_role
from console.blueprint import bp, nav_item
from services import audit
from services.staff import ensure_role

nav_item("内容", "console.content_page", "editor", "counselor", order=70)
FILES = ("help_directory.toml", "replies.toml", "menu.toml")


def _problems() -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for problem in lint():
        name, _, rest = problem.partition(": ")
        grouped.setdefault(name if rest else "其他", []).append(rest or problem)
    return grouped


@bp.route("/content")
@require_role("editor", "counselor")
def content_page() -> str:
    problems = _problems()
    return render_template(
        "console/content.html",
        directory=content.help_directory(),
        replies=sorted(content.replies().items()),
        menu=content.menu().get("button", []),
        problems=problems,
        files=FILES,
        other_problems={k: v for k, v in problems.items() if k not in FILES},
    )


@bp.route("/content/menu-sync", methods=["POST"])
@require_role("admin")
def content_menu_sync() -> Response:
    staff = current_staff()
    ensure_role(staff, "admin")
    assert staff is not None
    target = url_for("console.content_page")
    menu_problems = [p for p in lint() if p.startswith("menu.toml")]
    if menu_problems:
        flash("菜单配置有问题，未同步：" + "；".join(menu_problems), "error")
        return redirect(target)
    try:
        current_app.extensions["wechat_client"].create_menu(_menu_payload())
    except WeChatAPIError as exc:
        detail = {"errcode": exc.errcode, "errmsg": exc.errmsg}
        audit.record(db.session, audit.actor_of(staff), "menu.sync_failed", "menu", detail)
        flash(f"菜单同步失败（微信返回 {exc.errcode}），请稍后重试或检查公众号配置。", "error")
        return redirect(target)
    buttons = [b.get("name") for b in _menu_payload()["button"]]
    audit.record(db.session, audit.actor_of(staff), "menu.sync", "menu", {"buttons": buttons})
    flash("菜单已同步到公众号。", "success")
    return redirect(target)
