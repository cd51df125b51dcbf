"""Conversation state per user, kept in Redis as JSON with an expiry.

The webhook loads it in the same Redis round trip as the dedup claim and saves it with the stored reply,
so a conversation costs no extra round trips.
"""

from __future__ import annotations

import json
from typing import Any

from bot.redis_batch import Commands

_MISSING = object()


class ConversationState:
    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = data or {}
        self.dirty = False

    @classmethod
    def from_raw(cls, raw: bytes | str | None) -> ConversationState:
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
        except ValueError:
            # A corrupt entry must not lock the user out of the bot; start afresh.
            return cls()
        return cls(data if isinstance(data, dict) else None)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        if self.data.get(key, _MISSING) == value:
            return  # unchanged: no write to Redis for it
        self.data[key] = value
        self.dirty = True

    def pop(self, key: str) -> Any:
        self.dirty = self.dirty or key in self.data
        return self.data.pop(key, None)

    def clear(self) -> None:
        self.dirty = self.dirty or bool(self.data)
        self.data = {}

    def save_into(self, pipe: Commands, key: str, ttl_seconds: int) -> None:
        if not self.dirty:
            return
        if self.data:
            pipe.set(key, json.dumps(self.data, ensure_ascii=False), ex=ttl_seconds)
        else:
            pipe.delete(key)
