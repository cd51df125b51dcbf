"""One module per intent: what the bot says and asks, calling `services/` for every decision."""

from __future__ import annotations

from collections.abc import Callable

from bot.dialogue.context import Context
from bot.wechat.replies import Reply
from handlers import fallback, greeting

Handler = Callable[[Context], Reply]

# Intents without a handler yet fall through to `fallback`, which never pretends to do their job.
HANDLERS: dict[str, Handler] = {
    "greeting": greeting.handle,
    "fallback": fallback.handle,
}


def for_intent(intent: str) -> Handler:
    return HANDLERS.get(intent, fallback.handle)
