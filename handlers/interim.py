"""Intents whose chat flows arrive in later releases answer honestly and point to a person."""

from __future__ import annotations

from collections.abc import Callable

from bot.content import text
from bot.dialogue.context import Context, pure
from bot.wechat.replies import Reply, Text


def for_intent(intent: str) -> Callable[[Context], Reply]:
    @pure
    def handle(ctx: Context) -> Reply:
        ctx.state.pop("misses")
        return Text(text(f"interim_{intent}"))

    handle.__name__ = f"interim_{intent}"
    return handle
