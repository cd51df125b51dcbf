"""What a handler gets: the message, the user's conversation state and the settings."""

from __future__ import annotations

from dataclasses import dataclass

from bot.dialogue.state import ConversationState
from bot.settings import Settings
from bot.wechat.messages import InboundMessage


@dataclass(slots=True)
class Context:
    message: InboundMessage
    state: ConversationState
    settings: Settings

    @property
    def openid(self) -> str:
        return self.message.from_user

    @property
    def text(self) -> str:
        return (self.message.text or "").strip()
