"""One module per intent: what the bot says and asks, calling `services/` for every decision."""

from __future__ import annotations

from collections.abc import Callable

from bot.dialogue.context import Context
from bot.wechat.replies import Reply
from handlers import (
    activity,
    fallback,
    greeting,
    help_12355,
    human,
    matchmaking,
    micro_wish,
    reminders,
    traineeship,
)

Handler = Callable[[Context], Reply]

HANDLERS: dict[str, Handler] = {
    "greeting": greeting.handle,
    "fallback": fallback.handle,
    "help_12355": help_12355.handle,
    "human": human.handle,
    "traineeship": traineeship.handle,
    "activity": activity.handle,
    "matchmaking": matchmaking.handle,
    "micro_wish": micro_wish.handle,
    "reminders": reminders.handle,
}


def for_intent(intent: str) -> Handler:
    return HANDLERS.get(intent, fallback.handle)
