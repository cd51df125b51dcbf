"""Activities in chat: upcoming ones as a numbered list with time, place and seats left, detail, sign-up
(confirmed or waitlisted), cancellation and the person's own sign-ups.

The list context is held in the conversation (`bot.dialogue.focus`), so "2", "下一页", "报名" or
"取消报名 1" next turn refer to what the person just saw.
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
from handlers import listing
from handlers.listing import read_filters, vocab, when
from services import activities, users
from services.common import is_open
from services.eligibility import aware
from services.errors import Closed, DeadlinePassed, DomainError, NotEligible, NotFound
from services.models import Activity

NAME = "activity"
PAGE_SIZE = 5
SIGNUP_WORDS = frozenset(vocab("报名 我要报名 报名参加 参加 我要参加 候补 加入候补 我要候补 申请"))
MINE_WORDS = vocab("我的活动 我报名的 我报的 已报名 报名记录")
CANCEL = re.compile(r"^(?:取消报名|取消活动|退出活动|退出候补|取消候补|不去了)(?:第)?(\d{1,3})?(?:个|号)?$")
STOP_WORDS = vocab("活动 这周末 周末 本周 这周 下周 好玩 参加 报名 去处 去哪 可以 一起 玩")


# -- entry: the intent, a menu key -----------------------------------------------------------------
def handle(ctx: Context) -> Reply:
    """Runs on a worker (not `pure`): every path reads the database."""
    ctx.state.pop("misses")
    compact = ctx.norm.compact
    held = focus.held(ctx, NAME)
    cancel = CANCEL.match(compact)
    if cancel:
        return _cancel(ctx, held, cancel.group(1))
    if ctx.message.event_key == "MY_ACTIVITIES" or any(w in compact for w in MINE_WORDS):
        return _mine(ctx, held)
    filters, word = read_filters(compact, STOP_WORDS, education=False)
    if word:
        filters["keyword"] = word
    return _list(ctx, filters, fresh=True)


# -- the next message, while the person looks at a list or an activity ------------------------------
def follow(ctx: Context, data: dict[str, Any], understood: Understanding) -> Step | None:
    compact = ctx.norm.compact
    picked = focus.number(compact)
    if picked is not None:
        return listing.pick(
            listing.in_view(data), picked, "activity", lambda i: Call(lambda: _detail(ctx, data, i))
        )
    paged = listing.turn(focus.command(compact), data, "activity", lambda f, c, s: _list(ctx, f, c, s))
    if paged is not None:
        return paged
    cancel = CANCEL.match(compact)
    if cancel:
        return Call(lambda: _cancel(ctx, data, cancel.group(1)))
    if _wants_to_sign_up(compact, data):
        current = data.get("current")
        if not current:
            return Text(content.text("activity_pick_first"))
        return Call(lambda: _sign_up(ctx, int(current)))
    if focus.for_someone_else(ctx, understood, NAME) or understood.via == "keyword":
        return None  # our own keywords ("我的活动", "读书会") start afresh through `handle`
    narrowed = listing.narrow(data, *read_filters(compact, STOP_WORDS, education=False))
    if narrowed is not None:
        return Call(lambda: _list(ctx, narrowed))
    # TOML trims a text's leading newline, so the line break before the optional line is the code's.
    extra = "\n" + content.text("activity_options_signup") if data.get("current") else ""
    return Text(content.text("activity_options", signup=extra))


focus.register(NAME, follow)


def _wants_to_sign_up(compact: str, data: dict[str, Any]) -> bool:
    # "我要报名这个活动" while an activity is in view; "我报名的活动" asks for their own list.
    return listing.wants(compact, data, SIGNUP_WORDS, "报名 参加", ("取消", *MINE_WORDS))


# -- lists -----------------------------------------------------------------------------------------
def _query(filters: dict[str, Any], cursor: str | None) -> Any:
    keys = ("keyword", "district", "category")
    wanted = {k: filters.get(k) for k in keys}
    page = activities.list_activities(db.session, **wanted, limit=PAGE_SIZE, cursor=cursor)
    if not page.items and cursor is None and filters.get("keyword"):
        # "读书会" may name the category rather than a word in the title or description.
        wanted = {**wanted, "category": filters["keyword"], "keyword": None}
        page = activities.list_activities(db.session, **wanted, limit=PAGE_SIZE, cursor=None)
    return page


def _words(filters: dict[str, Any]) -> str:
    return "、".join(str(filters[k]) for k in ("keyword", "category", "district") if filters.get(k))


def _seats(activity: Activity) -> str:
    left = activities.seats_left(activity)
    if left > 0:
        return content.text("activity_seats_left", count=left)
    return content.text("activity_seats_full" if activity.waitlist else "activity_seats_closed")


def _list(
    ctx: Context,
    filters: dict[str, Any],
    cursor: str | None = None,
    shown: list[int] | None = None,
    fresh: bool = False,
) -> Reply:
    opened = listing.open_page(ctx, NAME, "activity", _query, _words, filters, cursor, shown, fresh)
    if not isinstance(opened, listing.Opened):
        return opened
    page, note, start = opened.page, opened.note, opened.start
    words = _words(opened.filters)

    def render(width: int) -> str:
        items = listing.dated_items("activity", page.items, start, width, _seats)
        return note + content.text(
            "activity_list",
            filters=content.text("activity_filters", words=words) if words else "",
            items=items,
            more=content.text("activity_more" if page.next_cursor else "activity_last"),
        )

    return Text(focus.fit(render))


# -- one activity ----------------------------------------------------------------------------------
def _detail(ctx: Context, data: dict[str, Any], activity_id: int) -> Reply:
    try:
        activity = activities.get_activity(db.session, activity_id)
    except NotFound:
        return Text(content.text("activity_gone"))
    listing.detail(ctx, NAME, data, activity.id)
    if not is_open(activity):
        action = "activity_action_closed"
    elif activities.seats_left(activity) > 0:
        action = "activity_action_signup"
    else:
        action = "activity_action_waitlist" if activity.waitlist else "activity_action_closed"

    def render(width: int) -> str:
        return content.text(
            "activity_detail",
            title=activity.title,
            category=activity.category,
            when=when(aware(activity.starts_at)),  # type: ignore[arg-type]
            place=activity.location,
            capacity=activity.capacity,
            seats=_seats(activity),
            description=focus.clip(activity.description or "", width * 20),
            action=content.text(action),
        )

    return Text(focus.fit(render))


# -- signing up and cancelling ---------------------------------------------------------------------
def _sign_up(ctx: Context, activity_id: int) -> Reply:
    user = users.get_or_create_oa_user(db.session, ctx.openid)
    try:
        activity = activities.get_activity(db.session, activity_id)
        for signup in activities.my_signups(db.session, user):
            if signup.activity_id == activity_id and signup.status in ("confirmed", "waitlisted"):
                status = content.text(f"activity_status_{signup.status}")
                return Text(content.text("activity_already", title=activity.title, status=status))
        signup = activities.sign_up(db.session, user, activity_id)
    except NotFound:
        return Text(content.text("activity_gone"))
    except NotEligible as exc:
        return Text(content.text("activity_not_eligible", title=activity.title, reason=exc.message))
    except (Closed, DeadlinePassed) as exc:
        return Text(content.text("activity_closed", title=activity.title, reason=exc.message))
    except DomainError as exc:
        return Text(content.text("activity_signup_failed", reason=exc.message))
    if signup.status == "confirmed":
        return Text(
            content.text(
                "activity_confirmed",
                title=activity.title,
                when=when(aware(activity.starts_at)),  # type: ignore[arg-type]
                place=activity.location,
            )
        )
    return Text(content.text("activity_waitlisted", title=activity.title))


def _cancel(ctx: Context, data: dict[str, Any], number: str | None) -> Reply:
    activity_id = listing.target(listing.in_view(data), data, number)
    if activity_id is None:
        return listing.ask_which(ctx, NAME, _mine(ctx, data), "activity_cancel_which")
    user = users.get_or_create_oa_user(db.session, ctx.openid)
    try:
        activity = activities.get_activity(db.session, activity_id, include_unpublished=True)
    except NotFound:
        return Text(content.text("activity_gone"))
    try:
        activities.cancel_signup(db.session, user, activity_id)
    except NotFound:
        return Text(content.text("activity_cancel_nothing", title=activity.title))
    except DomainError as exc:
        return Text(content.text("activity_signup_failed", reason=exc.message))
    return Text(content.text("activity_cancelled", title=activity.title))


# -- my activities ---------------------------------------------------------------------------------
def _mine(ctx: Context, data: dict[str, Any]) -> Reply:
    user = users.get_or_create_oa_user(db.session, ctx.openid)
    live = [s for s in activities.my_signups(db.session, user) if s.status != "cancelled"][:10]
    rows = []
    for signup in live:
        try:
            activity = activities.get_activity(db.session, signup.activity_id, include_unpublished=True)
        except NotFound:
            continue
        rows.append((activity, content.text(f"activity_status_{signup.status}")))
    return listing.mine(ctx, NAME, data, "activity", rows)
