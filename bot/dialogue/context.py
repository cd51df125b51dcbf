"""What a handler gets: the message, the user's conversation state and the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from redis.exceptions import RedisError

from bot import transcript
from bot.dialogue.normalise import Normalised, normalise
from bot.dialogue.state import ConversationState
from bot.settings import Settings
from bot.wechat.messages import InboundMessage
from bot.wechat.replies import Reply


@dataclass(slots=True)
class Context:
    message: InboundMessage
    state: ConversationState
    settings: Settings
    _norm: Normalised | None = field(default=None, repr=False)

    @property
    def openid(self) -> str:
        return self.message.from_user

    @property
    def source_key(self) -> str:
        """Identifies the message that caused an action, so that the action happens once."""
        return self.message.dedup_key

    @property
    def text(self) -> str:
        return (self.message.text or "").strip()

    @property
    def norm(self) -> Normalised:
        if self._norm is None:
            self._norm = normalise(self.text)
        return self._norm

    def recent_transcript(self) -> list[dict[str, Any]]:
        """The last exchanges with this person, oldest first, ending with the current message."""
        rx = current_app.extensions["redis"]
        try:
            entries = transcript.recent(rx.client, rx.key("transcript", self.openid))
        except RedisError:
            entries = []
        if not entries or entries[-1].get("text") != self.text:
            entries.append({"role": "user", "text": self.text, "at": self.message.create_time})
        return entries


@dataclass(frozen=True, slots=True)
class Call:
    """Work that may wait on I/O (database, network). The webhook runs it on a worker under the reply
    budget; everything else the router does is pure computation and runs inline, without a thread hand-off."""

    fn: Callable[[], Reply]


Step = Reply | Call


def pure(handler: Callable[[Context], Reply]) -> Callable[[Context], Reply]:
    """Mark a handler that only computes (no database, no network), so it may run inline."""
    handler.pure = True  # type: ignore[attr-defined]
    return handler


def dispatch(ctx: Context, handler: Callable[[Context], Reply]) -> Step:
    if getattr(handler, "pure", False):
        return handler(ctx)
    return Call(lambda: handler(ctx))


def resolve(step: Step) -> Reply:
    return step.fn() if isinstance(step, Call) else step
