"""微心愿 in chat: the wish wall as a numbered list, a wish in detail, 认领 (N), 我的心愿, 我认领的心愿,
许愿 (the submit form), 已送达 (donor), 心愿已收到 (submitter, with an optional thank-you) and 补充 (answering
staff's request for more). Everything shown of a wish to others comes from `wishes.public_view`.

The list context is held in the conversation (`bot.dialogue.focus`), so "2", "下一页", "认领" or "已送达 1"
next turn refer to what the person just saw.
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
from handlers import listing, micro_wish_form
from handlers.listing import vocab
from services import users, wishes
from services.eligibility import BEIJING, aware
from services.errors import DomainError, NotFound
from services.models_wishes import Wish
from services.wish_rules import AGE_BAND_LABELS, PRICE_BANDS

NAME = "micro_wish"
PAGE_SIZE = 5
SUBMIT_WORDS = vocab("许愿 许个愿 提交心愿 发布心愿 填写心愿")
MINE_WORDS = vocab("我的心愿 我提交的心愿 心愿进度")
CLAIMS_WORDS = vocab("我认领的 我的认领 认领记录")
# On the raw text (after the command word comes free text: an organisation, a note, a thank-you).
CLAIM = re.compile(r"^\s*(?:我要|我想|我来)?认领\s*(?:第?\s*(\d{1,3})\s*[个号]?)?\s*(.*)$", re.S)
# Words after 认领 that name the wish, not an organisation ("认领这个心愿").
NOT_AN_ORG = re.compile(r"^(?:这个|那个|一下|它)?(?:心愿|愿望)?(?:吧|了|啦)?[。！!～~]*$")
DELIVERED = re.compile(r"^\s*(?:心愿)?(?:已送达|已经送达|已送出|送到了)\s*(\d{1,3})?[\s，,。:：]*(.*)$", re.S)
RECEIVED = re.compile(
    r"^\s*(?:心愿)?(?:已收到|已经收到|确认收到|收到心愿)\s*(\d{1,3})?[\s，,。!！:：]*(.*)$", re.S
)
INFO = re.compile(r"^\s*补充(?:信息)?[\s:：]*(.+)$", re.S)


def _user(ctx: Context) -> Any:
    return users.get_or_create_oa_user(db.session, ctx.openid)


def _reason(exc: DomainError) -> str:
    return "；".join((exc.fields or {}).values()) or exc.message


# -- entry: the intent, the menu key ---------------------------------------------------------------
def handle(ctx: Context) -> Reply:
    """Runs on a worker (not `pure`): every path reads the database."""
    ctx.state.pop("misses")
    command = _command(ctx, focus.held(ctx, NAME))
    return command() if command is not None else _wall(ctx)


def _command(ctx: Context, data: dict[str, Any]) -> Any:
    """The requests that work from anywhere in the wish flow, as a callable (None: none of them)."""
    compact, raw = ctx.norm.compact, ctx.text
    if any(word in compact for word in SUBMIT_WORDS):
        return lambda: micro_wish_form.start(ctx)
    if any(word in compact for word in CLAIMS_WORDS):
        return lambda: _claims(ctx, data)
    if any(word in compact for word in MINE_WORDS):
        return lambda: _mine(ctx, data)
    delivered = DELIVERED.match(raw)
    if delivered:
        return lambda: _delivered(ctx, data, delivered.group(1), delivered.group(2).strip() or None)
    received = RECEIVED.match(raw)
    if received:
        return lambda: _received(ctx, data, received.group(1), received.group(2).strip() or None)
    info = INFO.match(raw)
    if info:
        return lambda: _answer(ctx, info.group(1).strip())
    claim = CLAIM.match(raw)
    if claim and len(compact) <= 40:
        org = claim.group(2).strip()
        return lambda: _claim(ctx, data, claim.group(1), None if NOT_AN_ORG.match(org) else org)
    return None


# -- the next message, while the person looks at the wall or a wish ---------------------------------
def follow(ctx: Context, data: dict[str, Any], understood: Understanding) -> Step | None:
    compact = ctx.norm.compact
    picked = focus.number(compact)
    if picked is not None:
        shown = data.get("shown", [])
        return Call(lambda: listing.pick(shown, picked, "wish", lambda i: _detail(ctx, data, i)))
    paged = listing.turn(focus.command(compact), data, "wish", lambda _f, c, s: _wall(ctx, c, s))
    if paged is not None:
        return paged
    command = _command(ctx, data)
    if command is not None:
        return Call(command)
    if focus.for_someone_else(ctx, understood, NAME) or understood.via == "keyword":
        return None
    extra = content.text("wish_options_claim") if data.get("current") else ""
    return Text(content.text("wish_options", claim=extra))


focus.register(NAME, follow)


# -- the wall --------------------------------------------------------------------------------------
def _labels(view: wishes.PublicWish) -> dict[str, str]:
    return {
        "alias": view.alias,
        "age": AGE_BAND_LABELS.get(view.age_band, ""),
        "district": view.district,
        "price": PRICE_BANDS.get(view.price_band, ""),
    }


def _wall(ctx: Context, cursor: str | None = None, shown: list[int] | None = None) -> Reply:
    page = wishes.list_wall(db.session, limit=PAGE_SIZE, cursor=cursor)
    nothing = listing.empty(ctx, page, cursor, "wish", "wish_none")
    if nothing is not None:
        return nothing
    start = listing.remember(ctx, NAME, page, cursor, shown, view="wall")
    views = [wishes.public_view(w) for w in page.items]

    def render(width: int) -> str:
        items = "\n".join(
            content.text("wish_item", number=start + n, item=focus.clip(v.item, width), **_labels(v))
            for n, v in enumerate(views, 1)
        )
        more = content.text("wish_more" if page.next_cursor else "wish_last")
        return content.text("wish_list", items=items, more=more)

    return Text(focus.fit(render))


def _detail(ctx: Context, data: dict[str, Any], wish_id: int) -> Reply:
    try:
        wish = wishes.get_public_wish(db.session, wish_id)
    except NotFound:
        return Text(content.text("wish_gone"))
    listing.detail(ctx, NAME, data, wish.id)
    view = wishes.public_view(wish)
    action = "wish_action_claim" if view.available else "wish_action_taken"

    def render(width: int) -> str:
        return content.text(
            "wish_detail",
            item=view.item,
            story=focus.clip(view.story, width * 20),
            action=content.text(action),
            **_labels(view),
        )

    return Text(focus.fit(render))


# -- donors ----------------------------------------------------------------------------------------
def _date(wish: Wish) -> str:
    expires = aware(wish.claim_expires_at)
    return expires.astimezone(BEIJING).strftime("%m月%d日") if expires else ""


def _claim(ctx: Context, data: dict[str, Any], number: str | None, org: str | None) -> Reply:
    shown = data.get("shown", [])
    wish_id = listing.target(shown, data, number)
    if wish_id is None and number is not None and shown:
        return Text(content.text("wish_no_such_number", number=number, last=len(shown)))
    if wish_id is None:
        return Text(content.text("wish_pick_first"))
    try:
        wish = wishes.claim_wish(db.session, _user(ctx), wish_id, donor_org=org)
    except DomainError as exc:
        return Text(content.text("wish_claim_failed", reason=_reason(exc)))
    view = wishes.public_view(wish)
    return Text(content.text("wish_claimed", item=view.item, alias=view.alias, deadline=_date(wish)))


def _claims(ctx: Context, data: dict[str, Any]) -> Reply:
    rows = wishes.my_claims(db.session, _user(ctx))[:10]
    if not rows:
        return Text(content.text("wish_claims_none"))
    focus.hold(ctx, NAME, {**data, "claims": [w.id for w in rows], "view": "claims"})
    items = "\n".join(
        content.text(
            "wish_claims_item",
            number=n,
            item=focus.clip(w.public_item or "", 16),
            alias=w.public_alias or "",
            status=content.text(f"wish_status_{w.status}"),
            extra=content.text("wish_claims_deadline", deadline=_date(w)) if w.status == "claimed" else "",
        )
        for n, w in enumerate(rows, 1)
    )
    return Text(content.text("wish_claims", items=items))


def _pick_own(rows: list[Wish], listed: list[int], number: str | None, statuses: tuple[str, ...]) -> Any:
    """The wish a command with an optional number means: the numbered one of the last list shown, else
    the only one in a fitting status. "many" when the person has to say which."""
    if number is not None:
        if 1 <= int(number) <= len(listed):
            return next((w for w in rows if w.id == int(listed[int(number) - 1])), None)
        return None
    fitting = [w for w in rows if w.status in statuses]
    return fitting[0] if len(fitting) == 1 else ("many" if fitting else None)


def _delivered(ctx: Context, data: dict[str, Any], number: str | None, note: str | None) -> Reply:
    user = _user(ctx)
    wish = _pick_own(wishes.my_claims(db.session, user), data.get("claims", []), number, ("claimed",))
    if wish == "many":
        return Text(content.text("wish_deliver_which"))
    if wish is None:
        return Text(content.text("wish_deliver_nothing"))
    try:
        wishes.mark_delivered(db.session, user, wish.id, note=note)
    except DomainError as exc:
        return Text(content.text("wish_failed", reason=_reason(exc)))
    return Text(content.text("wish_delivered", item=wish.public_item or wish.item))


# -- submitters ------------------------------------------------------------------------------------
def _mine(ctx: Context, data: dict[str, Any]) -> Reply:
    rows = wishes.my_wishes(db.session, _user(ctx))[:10]
    if not rows:
        return Text(content.text("wish_mine_none"))
    focus.hold(ctx, NAME, {**data, "mine": [w.id for w in rows], "view": "mine"})

    def extra(wish: Wish) -> str:
        if wish.status == "needs_info":
            return content.text("wish_mine_info", question=wish.info_request or "")
        if wish.status == "rejected":
            return content.text("wish_mine_rejected", reason=wish.reject_reason or "")
        if wish.status in ("claimed", "delivered"):
            return content.text("wish_mine_delivered")
        return ""

    items = "\n".join(
        content.text(
            "wish_mine_item",
            number=n,
            item=focus.clip(w.item, 16),
            status=content.text(f"wish_status_{w.status}"),
            extra=extra(w),
        )
        for n, w in enumerate(rows, 1)
    )
    return Text(content.text("wish_mine", items=items))


def _received(ctx: Context, data: dict[str, Any], number: str | None, thanks: str | None) -> Reply:
    user = _user(ctx)
    mine = wishes.my_wishes(db.session, user)
    wish = _pick_own(mine, data.get("mine", []), number, ("claimed", "delivered"))
    if wish == "many":
        return Text(content.text("wish_receive_which"))
    if wish is None:
        return Text(content.text("wish_receive_nothing"))
    try:
        wishes.confirm_received(db.session, wish.id, user=user, thank_you=thanks)
    except DomainError as exc:
        return Text(content.text("wish_failed", reason=_reason(exc)))
    said = content.text("wish_received_thanks") if thanks else ""
    return Text(content.text("wish_received", item=wish.item, thanks=said))


def _answer(ctx: Context, answer: str) -> Reply:
    user = _user(ctx)
    waiting = [w for w in wishes.my_wishes(db.session, user) if w.status == "needs_info"]
    if not waiting:
        return Text(content.text("wish_info_nothing"))
    try:
        wish = wishes.answer_info(db.session, user, waiting[0].id, answer)
    except DomainError as exc:
        return Text(content.text("wish_failed", reason=_reason(exc)))
    return Text(content.text("wish_info_done", item=wish.item))
