"""就业见习 in chat: the newest open posts as a numbered list the person can narrow and page through, a post
in detail, a short application form, and their applications with status and withdrawal.

The list context (filters, the cursor, the ids shown) is held in the conversation (`bot.dialogue.focus`), so
"2", "下一页", "金融" or "申请" next turn refer to what the person just saw.
"""

from __future__ import annotations

import re
from typing import Any

from bot import content
from bot.dialogue import focus
from bot.dialogue.classifier import Understanding
from bot.dialogue.context import Call, Context, Step
from bot.extensions import db
from bot.wechat.replies import Reply, Text
from handlers import listing, traineeship_apply
from handlers.listing import read_filters, vocab, when
from services import traineeships, users
from services.eligibility import EDUCATION_LABELS, aware
from services.errors import DomainError, NotFound
from services.models import Traineeship

NAME = "traineeship"
PAGE_SIZE = 5
APPLY_WORDS = frozenset(vocab("申请 报名 我要申请 我要报名 申请此岗位 报名此岗位 申请这个 投递"))
MINE_WORDS = vocab("我的申请 申请进度 申请状态 申请结果 我的见习 撤回申请")
WITHDRAW = re.compile(r"^(?:撤回|撤销|取消申请)(?:第)?(\d{1,3})?(?:个|号|条)?$")
# Words that say "traineeship" without narrowing it, dropped before the rest is read as a keyword.
STOP_WORDS = vocab("见习岗位 实习岗位 就业见习 见习 实习 岗位 职位 工作 机会 招聘 求职 申请 报名")


# -- entry: the intent, a menu key -----------------------------------------------------------------
def handle(ctx: Context) -> Reply:
    """Runs on a worker (not `pure`): every path reads the database."""
    ctx.state.pop("misses")
    compact = ctx.norm.compact
    if ctx.message.event_key == "MY_APPLICATIONS" or any(w in compact for w in MINE_WORDS):
        return _mine(ctx, focus.held(ctx, NAME))
    filters, word = read_filters(compact, STOP_WORDS)
    if word:
        filters["keyword"] = word
    return _list(ctx, filters, fresh=True)


# -- the next message, while the person looks at a list or a post ----------------------------------
def follow(ctx: Context, data: dict[str, Any], understood: Understanding) -> Step | None:
    compact = ctx.norm.compact
    picked = focus.number(compact)
    if picked is not None:
        return listing.pick(
            _in_view(data), picked, "traineeship", lambda i: Call(lambda: _detail(ctx, data, i))
        )
    paged = listing.turn(focus.command(compact), data, "traineeship", lambda f, c, s: _list(ctx, f, c, s))
    if paged is not None:
        return paged
    # Withdrawal first: "取消申请" names the verb of an application too.
    withdrawal = WITHDRAW.match(compact)
    if withdrawal:
        return Call(lambda: _withdraw(ctx, data, withdrawal.group(1)))
    if _wants_to_apply(compact, data):
        current = data.get("current")
        if not current:
            return Text(content.text("traineeship_pick_first"))
        return Call(lambda: _start_apply(ctx, int(current)))
    if focus.for_someone_else(ctx, understood, NAME) or understood.via == "keyword":
        return None  # our own keywords ("我的申请", "西城的实习") start afresh through `handle`
    narrowed = listing.narrow(data, *read_filters(compact, STOP_WORDS))
    if narrowed is not None:
        return Call(lambda: _list(ctx, narrowed))
    # TOML trims a text's leading newline, so the line break before the optional line is the code's.
    extra = "\n" + content.text("traineeship_options_apply") if data.get("current") else ""
    return Text(content.text("traineeship_options", apply=extra))


focus.register(NAME, follow)


def _wants_to_apply(compact: str, data: dict[str, Any]) -> bool:
    # "我要申请这个岗位" while a post is in view; "我的申请", "撤回申请", "不想申请了" are other requests.
    return listing.wants(compact, data, APPLY_WORDS, "申请 报名", ("取消", "撤回", "撤销", "不", *MINE_WORDS))


# -- lists -----------------------------------------------------------------------------------------
def _query(filters: dict[str, Any], cursor: str | None) -> Any:
    keys = ("keyword", "district", "field", "education", "min_stipend")
    wanted = traineeships.TraineeshipFilter(**{k: filters.get(k) for k in keys})
    page = traineeships.list_traineeships(db.session, wanted, limit=PAGE_SIZE, cursor=cursor)
    if not page.items and cursor is None and filters.get("keyword"):
        # "金融" may name the post's field rather than a word in its title or description.
        field_only = {**filters, "field": filters["keyword"], "keyword": None}
        wanted = traineeships.TraineeshipFilter(**{k: field_only.get(k) for k in keys})
        page = traineeships.list_traineeships(db.session, wanted, limit=PAGE_SIZE, cursor=None)
    return page


def _words(filters: dict[str, Any]) -> str:
    words = [str(filters[k]) for k in ("keyword", "district") if filters.get(k)]
    if filters.get("education"):
        words.append(EDUCATION_LABELS.get(filters["education"], filters["education"]))
    if filters.get("min_stipend"):
        words.append(content.text("traineeship_filter_stipend", amount=filters["min_stipend"]))
    return "、".join(words)


def _list(
    ctx: Context,
    filters: dict[str, Any],
    cursor: str | None = None,
    shown: list[int] | None = None,
    fresh: bool = False,
) -> Reply:
    opened = listing.open_page(ctx, NAME, "traineeship", _query, _words, filters, cursor, shown, fresh)
    if not isinstance(opened, listing.Opened):
        return opened
    page, note, start = opened.page, opened.note, opened.start
    words = _words(opened.filters)

    def render(width: int) -> str:
        items = "\n".join(
            content.text(
                "traineeship_item",
                number=start + i,
                title=focus.clip(post.title, width),
                employer=focus.clip(post.employer, width),
                district=focus.clip(post.district, 6),
                stipend=_stipend(post),
            )
            for i, post in enumerate(page.items, 1)
        )
        return content.text(
            "traineeship_list",
            note=note,
            filters=content.text("traineeship_filters", words=words) if words else "",
            items=items,
            more=content.text("traineeship_more" if page.next_cursor else "traineeship_last"),
        )

    return Text(focus.fit(render))


def _stipend(post: Traineeship) -> str:
    if post.stipend:
        return content.text("traineeship_stipend", amount=post.stipend)
    return content.text("traineeship_stipend_unknown")


# -- one post --------------------------------------------------------------------------------------
def _in_view(data: dict[str, Any]) -> list[Any]:
    """The posts a number refers to; the own list holds [application id, post id] pairs."""
    if data.get("view") == "mine":
        return [post for _, post in data.get("mine", [])]
    return list(data.get("shown", []))


def _conditions(post: Traineeship) -> str:
    parts = []
    if post.education and post.education != "none":
        level = EDUCATION_LABELS.get(post.education, post.education)
        parts.append(content.text("traineeship_requirement_education", level=level))
    if post.age_min or post.age_max:
        parts.append(
            content.text("traineeship_requirement_age", low=post.age_min or 16, high=post.age_max or 35)
        )
    if post.residents_of:
        parts.append(content.text("traineeship_requirement_residents", district=post.residents_of))
    return "；".join(parts) or content.text("traineeship_requirement_none")


def _detail(ctx: Context, data: dict[str, Any], post_id: int) -> Reply:
    try:
        post = traineeships.get_traineeship(db.session, post_id)
    except NotFound:
        return Text(content.text("traineeship_gone"))
    listing.detail(ctx, NAME, data, post.id)
    deadline = aware(post.deadline)

    def render(width: int) -> str:
        return content.text(
            "traineeship_detail",
            title=post.title,
            employer=post.employer,
            district=post.district,
            field=post.field,
            stipend=_stipend(post),
            positions=post.positions,
            location=post.location or post.district,
            conditions=_conditions(post),
            deadline=when(deadline) if deadline else content.text("traineeship_no_deadline"),
            description=focus.clip(post.description or "", width * 20),
            action=content.text(
                "traineeship_action_apply" if traineeships.is_open(post) else "traineeship_action_closed"
            ),
        )

    return Text(focus.fit(render))


# -- applying --------------------------------------------------------------------------------------
def _start_apply(ctx: Context, post_id: int) -> Reply:
    try:
        post = traineeships.get_traineeship(db.session, post_id)
    except NotFound:
        return Text(content.text("traineeship_gone"))
    if not traineeships.is_open(post):
        return Text(content.text("traineeship_closed", title=post.title))
    user = users.get_or_create_oa_user(db.session, ctx.openid)
    for application in traineeships.my_applications(db.session, user):
        if application.traineeship_id == post.id and application.status != "withdrawn":
            return Text(traineeship_apply.already(post.title, application.status))
    return traineeship_apply.start(ctx, post.id, post.title)


# -- my applications -------------------------------------------------------------------------------
def _mine(ctx: Context, data: dict[str, Any]) -> Reply:
    user = users.get_or_create_oa_user(db.session, ctx.openid)
    applications = traineeships.my_applications(db.session, user)[:10]
    if not applications:
        return Text(content.text("traineeship_mine_none"))
    lines, mine = [], []
    for number, application in enumerate(applications, 1):
        try:
            post = traineeships.get_traineeship(
                db.session, application.traineeship_id, include_unpublished=True
            )
            title, employer = post.title, post.employer
        except NotFound:
            title, employer = content.text("traineeship_mine_unknown_post"), ""
        note = ""
        if application.note:  # on its own line, indented like the status above it
            note = "\n    " + content.text("traineeship_mine_note", note=application.note)
        lines.append((number, title, employer, traineeship_apply.status_label(application.status), note))
        mine.append([application.id, application.traineeship_id])
    focus.hold(ctx, NAME, {**data, "mine": mine, "view": "mine"})

    def render(width: int) -> str:
        items = "\n".join(
            content.text(
                "traineeship_mine_item",
                number=n,
                title=focus.clip(t, width),
                employer=focus.clip(e, width),
                status=s,
                note=focus.clip(note, width * 3),
            )
            for n, t, e, s, note in lines
        )
        return content.text("traineeship_mine", items=items)

    return Text(focus.fit(render))


def _withdraw(ctx: Context, data: dict[str, Any], number: str | None) -> Reply:
    mine = data.get("mine", [])
    if number is None or not 1 <= int(number) <= len(mine):
        return listing.ask_which(ctx, NAME, _mine(ctx, data), "traineeship_withdraw_which")
    application_id, post_id = mine[int(number) - 1]
    user = users.get_or_create_oa_user(db.session, ctx.openid)
    try:
        traineeships.withdraw(db.session, user, int(application_id))
    except DomainError as exc:
        return Text(content.text("traineeship_withdraw_failed", reason=exc.message))
    try:
        title = traineeships.get_traineeship(db.session, int(post_id), include_unpublished=True).title
    except NotFound:
        title = content.text("traineeship_mine_unknown_post")
    return Text(content.text("traineeship_withdrawn", title=title))
