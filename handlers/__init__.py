"""One module per intent: what the bot says and asks, calling `services/` for every decision."""

from __future__ import annotations

from collections.abc import Callable

from bot.dialogue.context import Context
from bot.wechat.replies import Reply
from handlers import fallback, greeting, help_12355, human, interim

Handler = Callable[[Context], Reply]

HANDLERS: dict[str, Handler] = {
    "greeting": greeting.handle,
    "fallback": fallback.handle,
    "help_12355": help_12355.handle,
    "human": human.handle,
    # Their chat flows arrive with the traineeship, matchmaking/wish and subscription issues.
    "traineeship": interim.for_intent("traineeship"),
    "matchmaking": interim.for_intent("matchmaking"),
    "micro_wish": interim.for_intent("micro_wish"),
    "activity": interim.for_intent("activity"),
    "reminders": interim.for_intent("reminders"),
}


def for_intent(intent: str) -> Handler:
    return HANDLERS.get(intent, fallback.handle)
