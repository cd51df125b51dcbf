"""婚恋交友 in chat: upcoming events as a numbered list (time, place, seats; per gender when balanced), an
event in detail, sign-up (profile form first when there is none, then the single-status declaration),
取消报名, 我的交友活动, 交友资料 (fill in or change), 删除交友资料 (everything, after a confirmation) and
交友签到 with the code announced at the event. Adults only: minors are told so kindly.

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
from handlers import matchmaking_forms as forms
from handlers.listing import vocab, when
from services import matchmaking, matchmaking_profiles, users
from services.common import is_open
from services.eligibility import aware
from services.errors import DomainError, NotFound
from services.models_matchmaking import MatchEvent

NAME = "matchmaking"
PAGE_SIZE = 5
SIGNUP_WORDS = frozenset(vocab("报名 我要报名 报名参加 参加 我要参加 候补 我要候补"))
MINE_WORDS = vocab("我的交友活动 我的交友报名 交友报名记录 我报名的交友活动 我的相亲活动 我的联谊")
PROFILE_WORDS = vocab("交友资料 修改资料 填写资料 我的资料 修改交友资料 填写交友资料")
WITHDRAW_WORDS = vocab("删除交友资料 撤回交友资料 注销交友资料 删除资料 撤回资料")
CANCEL = re.compile(r"^(?:取消报名|取消交友报名|退出活动|退出候补|取消候补|不去了)第?(\d{1,3})?(?:个|号)?$")
CHECKIN = re.compile(r"^(?:交友)?签到([a-z0-9]{4,16})?$")


# -- entry: the intent, a menu key -----------------------------------------------------------------
def handle(ctx: Context) -> Reply:
    """Runs on a worker (not `pure`): every path reads the database."""
    ctx.state.pop("misses")
    user = users.get_or_create_oa_user(db.session, ctx.openid)
    if matchmaking_profiles.is_minor(user):
        focus.release(ctx)
        return Text(content.text("match_adults_only"))
    compact = ctx.norm.compact
    held = focus.held(ctx, NAME)
    routed = _command(ctx, held, compact)
    return routed if routed is not None else _list(ctx)


def _command(ctx: Context, data: dict[str, Any], compact: str) -> Reply | None:
    """The requests that work from anywhere in the matchmaking flow (None: none of them)."""
    if any(word in compact for word in WITHDRAW_WORDS):
        return forms.start_withdraw(ctx)
    if any(word in compact for word in MINE_WORDS):
        return _mine(ctx, data)
    if any(compact.endswith(word) for word in PROFILE_WORDS):
        return forms.start_profile(ctx)
    cancel = CANCEL.match(compact)
    if cancel:
        return _cancel(ctx, data, cancel.group(1))
    checkin = CHECKIN.match(compact)
    if checkin:
        return _check_in(ctx, checkin.group(1))
    return None


# -- the next message, while the person looks at a list or an event --------------------------------
def follow(ctx: Context, data: dict[str, Any], understood: Understanding) -> Step | None:
    compact = ctx.norm.compact
    picked = focus.number(compact)
    if picked is not None:
        return listing.pick(
            listing.in_view(data), picked, "match", lambda i: Call(lambda: _detail(ctx, data, i))
        )
    paged = listing.turn(focus.command(compact), data, "match", lambda _f, c, s: _list(ctx, c, s))
    if paged is not None:
        return paged
    if _wants_to_sign_up(compact, data):
        current = data.get("current")
        if not current:
            return Text(content.text("match_pick_first"))
        return Call(lambda: forms.start_signup(ctx, int(current)))
    if (
        CANCEL.match(compact)
        or CHECKIN.match(compact)
        or any(w in compact for w in (*MINE_WORDS, *WITHDRAW_WORDS))
        or any(compact.endswith(w) for w in PROFILE_WORDS)
    ):
        return Call(lambda: _command(ctx, data, compact) or _list(ctx))
    if focus.for_someone_else(ctx, understood, NAME) or understood.via == "keyword":
        return None  # our own keywords ("相亲", "交友活动") start afresh through `handle`
    return Text(content.text("match_options"))


focus.register(NAME, follow)


def _wants_to_sign_up(compact: str, data: dict[str, Any]) -> bool:
    return listing.wants(compact, data, SIGNUP_WORDS, "报名 参加", ("取消", *MINE_WORDS))


# -- lists -----------------------------------------------------------------------------------------
def _seats(event: MatchEvent) -> str:
    if matchmaking.seats_left(event) <= 0:
        return content.text("match_seats_full")
    if event.balanced:
        male, female = matchmaking.seats_left(event, "male"), matchmaking.seats_left(event, "female")
        return content.text("match_seats_balanced", male=male, female=female)
    return content.text("match_seats_left", count=matchmaking.seats_left(event))


def _list(ctx: Context, cursor: str | None = None, shown: list[int] | None = None) -> Reply:
    page = matchmaking.list_events(db.session, limit=PAGE_SIZE, cursor=cursor)
    nothing = listing.empty(ctx, page, cursor, "match")
    if nothing is not None:
        return nothing
    start = listing.remember(ctx, NAME, page, cursor, shown)

    def render(width: int) -> str:
        items = listing.dated_items("match", page.items, start, width, _seats)
        more = content.text("match_more" if page.next_cursor else "match_last")
        return content.text("match_list", items=items, more=more)

    return Text(focus.fit(render))


# -- one event -------------------------------------------------------------------------------------
def _detail(ctx: Context, data: dict[str, Any], event_id: int) -> Reply:
    try:
        event = matchmaking.get_event(db.session, event_id)
    except NotFound:
        return Text(content.text("match_gone"))
    listing.detail(ctx, NAME, data, event.id)
    if not is_open(event):
        action = "match_action_closed"
    else:
        action = "match_action_signup" if matchmaking.seats_left(event) > 0 else "match_action_waitlist"
    ages = (
        content.text("match_ages", low=event.age_min, high=event.age_max)
        if event.age_max
        else content.text("match_ages_open", low=event.age_min)
    )

    def render(width: int) -> str:
        return content.text(
            "match_detail",
            title=event.title,
            when=when(aware(event.starts_at)),  # type: ignore[arg-type]
            place=event.location,
            partner=content.text("match_partner", partner=event.partner) if event.partner else "",
            ages=ages,
            seats=_seats(event),
            review=content.text("match_review_yes" if event.requires_review else "match_review_no"),
            description=focus.clip(event.description or "", width * 20),
            action=content.text(action),
        )

    return Text(focus.fit(render))


# -- cancelling, check-in, my sign-ups -------------------------------------------------------------
def _cancel(ctx: Context, data: dict[str, Any], number: str | None) -> Reply:
    event_id = listing.target(listing.in_view(data), data, number)
    if event_id is None:
        return listing.ask_which(ctx, NAME, _mine(ctx, data), "match_cancel_which")
    user = users.get_or_create_oa_user(db.session, ctx.openid)
    try:
        event = matchmaking.get_event(db.session, event_id, include_unpublished=True)
    except NotFound:
        return Text(content.text("match_gone"))
    try:
        matchmaking.cancel_signup(db.session, user, event_id)
    except NotFound:
        return Text(content.text("match_cancel_nothing", title=event.title))
    except DomainError as exc:
        return Text(content.text("match_failed", reason=exc.message))
    return Text(content.text("match_cancelled", title=event.title))


def _check_in(ctx: Context, code: str | None) -> Reply:
    if not code:
        return Text(content.text("match_checkin_how"))
    user = users.get_or_create_oa_user(db.session, ctx.openid)
    try:
        signup = matchmaking.check_in(db.session, user, code)
        event = matchmaking.get_event(db.session, signup.event_id, include_unpublished=True)
    except DomainError as exc:
        return Text(content.text("match_checkin_failed", reason=exc.message))
    return Text(content.text("match_checkin_ok", title=event.title))


def _mine(ctx: Context, data: dict[str, Any]) -> Reply:
    user = users.get_or_create_oa_user(db.session, ctx.openid)
    live = [s for s in matchmaking.my_signups(db.session, user) if s.status != "cancelled"][:10]
    rows = []
    for signup in live:
        try:
            event = matchmaking.get_event(db.session, signup.event_id, include_unpublished=True)
        except NotFound:
            continue
        rows.append((event, forms.status_label(signup.status)))
    return listing.mine(ctx, NAME, data, "match", rows)
