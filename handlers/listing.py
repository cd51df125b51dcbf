"""What the numbered lists in chat share (activities, traineeships, matchmaking events, the wish wall):
reading filters out of a message, dates as people say them, and the mechanics of a list held in focus:
paging, picking by number, the person's own list. Each handler keeps its own wording: the reply keys are
`<prefix>_last_page`, `<prefix>_pick_first`, `<prefix>_no_such_number`, `<prefix>_mine…`. (Paging words,
numbers and fitting a text into one WeChat message are in `bot.dialogue.focus`.)"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from bot import content
from bot.dialogue import focus
from bot.dialogue.context import Call, Context, Step
from bot.wechat.replies import Reply, Text
from services.common import Page
from services.eligibility import BEIJING, aware

S = TypeVar("S", bound=Step)
# Shows a list page: (filters, cursor, the ids shown on earlier pages).
Show = Callable[[dict[str, Any], str | None, list[int]], Reply]


class Dated(Protocol):
    id: int
    title: str
    starts_at: datetime


def vocab(words: str) -> tuple[str, ...]:
    return tuple(words.split())


DISTRICTS = vocab("东城 西城 朝阳 海淀 丰台 石景山 门头沟 房山 通州 顺义 昌平 大兴 怀柔 平谷 密云 延庆")
EDUCATION_WORDS = dict(
    pair.split(":")
    for pair in vocab(
        "博士:doctor 硕士:master 研究生:master 本科:bachelor 大专:associate 专科:associate "
        "中专:vocational 职高:vocational 高中:high_school"
    )
)
STIPEND = re.compile(r"(\d{3,5})(?:元|块)?(?:以上|起|往上|多)")
# Filler around a request ("有没有…的…吗"); what is left after it is read as a keyword.
FILLER = vocab(
    "有没有 有什么 有哪些 有啥 什么 哪些 推荐 一下 看看 查看 查询 帮我 给我 我想找 我想要 我想 我要 想找 "
    "想要 最新 最近 近期 附近 方面 相关 方向 请问 你好 您好 一些 这个 那个 能报 可以报 能申请 "
    "想当 想去 想参加 还有 名额 位置 好的 好吧 知道了 收到 明白 嗯 哦 噢 的 吗 呢 啊 呀 吧 么 些"
)
# What is left of a question ("补贴怎么领") is not a keyword to search for.
QUESTION = re.compile(r"怎|什么|多少|哪|为何|如何|啥|能不能|可不可以|是不是|几")


def read_filters(
    compact: str, stop_words: tuple[str, ...], education: bool = True
) -> tuple[dict[str, Any], str | None]:
    """District, education level and stipend named in the message, and a short keyword left over, if any."""
    found: dict[str, Any] = {}
    stipend = STIPEND.search(compact) if education else None
    if stipend:
        found["min_stipend"] = int(stipend.group(1))
        compact = compact.replace(stipend.group(0), "")
    for district in DISTRICTS:
        if district in compact:
            found["district"] = f"{district}区"
            compact = compact.replace(f"{district}区", "").replace(district, "")
            break
    for word, level in EDUCATION_WORDS.items() if education else ():
        if word in compact:
            found["education"] = level
            compact = compact.replace(word, "")
            break
    for word in (*stop_words, *FILLER):
        compact = compact.replace(word, "")
    if 2 <= len(compact) <= 6 and not compact.isdigit() and not QUESTION.search(compact):
        return found, compact
    return found, None


def narrow(data: dict[str, Any], filters: dict[str, Any], word: str | None) -> dict[str, Any] | None:
    """The list's filters with those a follow-up message names added ("金融", "西城"), or None when it names
    none."""
    if not filters and not word:
        return None
    narrowed = {**data.get("filters", {}), **filters}
    if word:
        narrowed["keyword"] = word
    return narrowed


def when(moment: datetime) -> str:
    """'11月28日 周六 14:00', Beijing time."""
    local = moment.astimezone(BEIJING)
    return content.text(
        "activity_when",
        month=local.month,
        day=local.day,
        weekday=content.text("weekday_names")[local.weekday()],
        time=local.strftime("%H:%M"),
    )


# -- a list held in focus --------------------------------------------------------------------------
def turn(command: str | None, data: dict[str, Any], prefix: str, show: Show) -> Step | None:
    """The list after a paging word (`focus.command`): the next page, this page again, or everything
    without filters. None when `command` is none of those."""
    filters = data.get("filters", {})
    if command == "next":
        if not data.get("next"):
            return Text(content.text(f"{prefix}_last_page"))
        return Call(lambda: show(filters, data["next"], data.get("shown", [])))
    if command == "back":
        return Call(lambda: show(filters, data.get("page"), []))
    if command == "all":
        return Call(lambda: show({}, None, []))
    return None


def empty(ctx: Context, page: Page[Any], cursor: str | None, prefix: str, none_key: str = "") -> Reply | None:
    """The reply when a page has nothing to show (None when it has): past the last page, or nothing at
    all, which also drops the focus."""
    if page.items:
        return None
    if cursor is not None:
        return Text(content.text(f"{prefix}_last_page"))  # what was left closed since the last page
    focus.release(ctx)
    return Text(content.text(none_key or f"{prefix}_none_at_all"))


@dataclass(frozen=True, slots=True)
class Opened:
    """A filtered list page held in focus: the filters it ended up with, a note to put above it, and how
    many items earlier pages showed."""

    page: Page[Any]
    filters: dict[str, Any]
    note: str
    start: int


def open_page(
    ctx: Context,
    name: str,
    prefix: str,
    query: Callable[[dict[str, Any], str | None], Page[Any]],
    words: Callable[[dict[str, Any]], str],
    filters: dict[str, Any],
    cursor: str | None,
    shown: list[int] | None,
    fresh: bool,
) -> Opened | Reply:
    """The page of a filtered list, held in focus (`shown`: the ids earlier pages showed); a reply instead
    when there is nothing to show. When a `fresh` question's words match nothing they may not be a filter
    at all ("见习补贴怎么领"): everything is shown, under a note saying so."""
    page = query(filters, cursor)
    note = ""
    if not page.items and cursor is None and filters:
        if not fresh:
            return Text(content.text(f"{prefix}_none", words=words(filters)))
        note = content.text(f"{prefix}_no_match", words=words(filters))
        filters = {}
        page = query(filters, None)
    nothing = empty(ctx, page, cursor, prefix)
    if nothing is not None:
        return nothing
    return Opened(page, filters, note, remember(ctx, name, page, cursor, shown, filters=filters))


def remember(
    ctx: Context, name: str, page: Page[Any], cursor: str | None, shown: list[int] | None, **extra: Any
) -> int:
    """Hold the page as the focus, so numbers and paging words next turn refer to it; numbers run on
    across pages. Returns how many items earlier pages showed (the first number on this one, less one)."""
    earlier = list(shown or [])
    ids = earlier + [item.id for item in page.items]
    focus.hold(ctx, name, {**extra, "page": cursor, "next": page.next_cursor, "shown": ids[-60:]})
    return len(earlier)


def in_view(data: dict[str, Any]) -> list[Any]:
    """The ids a number refers to: the person's own list when that is in view, else the list shown."""
    return list(data.get("mine", []) if data.get("view") == "mine" else data.get("shown", []))


def pick(ids: Sequence[Any], picked: int, prefix: str, show: Callable[[int], S]) -> S | Text:
    """The item numbered `picked` among `ids`, shown by `show`; else what to say instead."""
    if 1 <= picked <= len(ids):
        return show(int(ids[picked - 1]))
    if not ids:
        return Text(content.text(f"{prefix}_pick_first"))
    return Text(content.text(f"{prefix}_no_such_number", number=picked, last=len(ids)))


def target(ids: Sequence[Any], data: dict[str, Any], number: str | None) -> int | None:
    """The item a command with an optional number means ("取消报名 2", "认领"): the numbered one among
    `ids`, else the one in detail. None when neither."""
    if number is not None and 1 <= int(number) <= len(ids):
        return int(ids[int(number) - 1])
    if number is None and data.get("current"):
        return int(data["current"])
    return None


def detail(ctx: Context, name: str, data: dict[str, Any], item_id: int) -> None:
    """Hold the item in detail as the focus, so "报名" next turn means it."""
    focus.hold(ctx, name, {**data, "current": item_id, "view": "detail"})


def ask_which(ctx: Context, name: str, mine: Reply, key: str) -> Reply:
    """The person's own list, with the question (`key`) which one they mean when it lists any."""
    if isinstance(mine, Text) and focus.held(ctx, name).get("mine"):
        return Text(f"{mine.content}\n{content.text(key)}")
    return mine


def wants(
    compact: str, data: dict[str, Any], exact: frozenset[str], verbs: str, elsewhere: Sequence[str]
) -> bool:
    """A sign-up or application request: one of the `exact` words, or while an item is in view a short
    message with one of the `verbs` ("我要报名这个活动") that names none of the words of other requests."""
    if compact in exact:
        return True
    short = len(compact) <= 10 and not any(word in compact for word in elsewhere)
    return bool(data.get("current")) and short and any(verb in compact for verb in verbs.split())


def dated_items(prefix: str, items: list[Any], start: int, width: int, seats: Callable[[Any], str]) -> str:
    """The numbered lines of a page of dated items (activities, events): title, time, place, seats."""
    return "\n".join(
        content.text(
            f"{prefix}_item",
            number=start + i,
            title=focus.clip(item.title, width),
            when=when(aware(item.starts_at)),  # type: ignore[arg-type]
            place=focus.clip(item.location, width),
            seats=seats(item),
        )
        for i, item in enumerate(items, 1)
    )


def mine(ctx: Context, name: str, data: dict[str, Any], prefix: str, rows: list[tuple[Dated, str]]) -> Reply:
    """The person's own sign-ups to dated items, numbered, each with its status label; held in focus so
    "取消报名 2" next turn means the second."""
    if not rows:
        return Text(content.text(f"{prefix}_mine_none"))
    focus.hold(ctx, name, {**data, "mine": [item.id for item, _ in rows], "view": "mine"})

    def render(width: int) -> str:
        items = "\n".join(
            content.text(
                f"{prefix}_mine_item",
                number=n,
                title=focus.clip(item.title, width),
                when=when(aware(item.starts_at)),  # type: ignore[arg-type]
                status=status,
            )
            for n, (item, status) in enumerate(rows, 1)
        )
        return content.text(f"{prefix}_mine", items=items)

    return Text(focus.fit(render))
