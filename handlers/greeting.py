from __future__ import annotations

from bot.content import text
from bot.dialogue.context import Context, pure
from bot.wechat.replies import Reply, Text


@pure
def handle(ctx: Context) -> Reply:
    return Text(text("greeting"))


@pure
def welcome(ctx: Context) -> Reply:
    """A new follower (possibly from a parameter QR code, `qrscene_<scene>`)."""
    return Text(text("welcome"))
