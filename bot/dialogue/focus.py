"""What the conversation is about between turns: the list a person just saw, so that "2", "下一页" or "报名"
in the next message refer to it.

Like forms, handlers register a follow-up function by name and the conversation state holds only plain
JSON (the filters, the cursor, the ids shown), so the focus survives restarts and expires with the
conversation. The router offers each message to the focus after crisis checks, forms and FAQ, and with the
classifier's reading, so that a message clearly about something else still goes where it belongs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.dialogue.classifier import Understanding
from bot.dialogue.context import Context, Step
from bot.wechat.replies import MAX_TEXT_BYTES

FollowUp = Callable[[Context, dict[str, Any], Understanding], Step | None]

KEY = "focus"
_FOLLOW_UPS: dict[str, FollowUp] = {}
# "2", "第2个", "2号", "No.2" (on the compact form): the person picks an item by its number.
_NUMBER = re.compile(r"^(?:第|no)?(\d{1,3})(?:个|号|条|项)?$")


def register(name: str, follow_up: FollowUp) -> None:
    _FOLLOW_UPS[name] = follow_up


def hold(ctx: Context, name: str, data: dict[str, Any]) -> None:
    ctx.state.set(KEY, {**data, "name": name})


def held(ctx: Context, name: str) -> dict[str, Any]:
    """The focus data when `name` holds the focus, else an empty dict."""
    current = ctx.state.get(KEY)
    if isinstance(current, dict) and current.get("name") == name:
        return dict(current)
    return {}


def release(ctx: Context) -> None:
    ctx.state.pop(KEY)


def release_unless(ctx: Context, name: str) -> None:
    """Another topic starts: numbers in the next message no longer refer to the old list."""
    current = ctx.state.get(KEY)
    if isinstance(current, dict) and current.get("name") != name:
        ctx.state.pop(KEY)


def follow(ctx: Context, understood: Understanding) -> Step | None:
    """The focus holder's answer to this message, or None when the message is not for it."""
    current = ctx.state.get(KEY)
    if not isinstance(current, dict):
        return None
    follow_up = _FOLLOW_UPS.get(str(current.get("name")))
    if follow_up is None:
        ctx.state.pop(KEY)
        return None
    return follow_up(ctx, dict(current), understood)


def number(compact: str) -> int | None:
    """The item number a reply names ("2", "第2个"), if it is nothing but that."""
    match = _NUMBER.match(compact)
    return int(match.group(1)) if match else None


# Paging words, like the form engine's cancel words: part of the dialogue, not of any one list.
_COMMANDS = {
    "next": frozenset({"下一页", "下页", "下一批", "更多", "还有吗", "还有呢", "继续", "next"}),
    "back": frozenset({"返回", "列表", "返回列表", "回到列表", "back"}),
    "all": frozenset({"全部", "所有", "清除筛选", "不限", "重新", "重来", "all"}),
}


def command(compact: str) -> str | None:
    """ "next", "back" (the page again) or "all" (drop the filters) when the reply is one of those words."""
    for name, words in _COMMANDS.items():
        if compact in words:
            return name
    return None


def for_someone_else(ctx: Context, understood: Understanding, name: str) -> bool:
    """The message plainly asks for another service: let the router take it there."""
    if understood.intent in (name, "fallback"):
        return False
    return understood.via == "keyword" or understood.confidence >= ctx.settings.INTENT_MIN_CONFIDENCE


def clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 1)] + "…"


def fit(render: Callable[[int], str], limit: int = MAX_TEXT_BYTES) -> str:
    """The widest rendering (`render(width)` clips free text to `width` characters) that fits one text."""
    text = ""
    for width in (24, 16, 10, 6):
        text = render(width)
        if len(text.encode()) <= limit:
            return text
    return text  # the webhook splits what still does not fit into follow-up messages
