from __future__ import annotations

from bot.content import text
from bot.dialogue.context import Context, pure
from bot.wechat.replies import Reply, Text


@pure
def handle(ctx: Context) -> Reply:
    return Text(text("fallback"))


@pure
def unsupported_media(ctx: Context) -> Reply:
    return Text(text("unsupported_media"))
