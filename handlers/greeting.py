from __future__ import annotations

from bot.content import text
from bot.dialogue.context import Context
from bot.wechat.replies import Reply, Text


def handle(ctx: Context) -> Reply:
    return Text(text("greeting"))


def welcome(ctx: Context) -> Reply:
    """A new follower (possibly from a parameter QR code, `qrscene_<scene>`)."""
    return Text(text("welcome"))
