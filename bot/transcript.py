"""Each person's recent exchange with the bot, for counsellors when a case opens.

A short list per user in Redis (newest first, capped, expiring), written in the webhook's existing round
trips, so a crisis case can carry the conversation that led to it without touching the database per message.
"""

from __future__ import annotations

import json
import time
from typing import Any

from redis import Redis

from bot.redis_batch import Commands

MAX_ENTRIES = 20


def push_into(pipe: Commands, key: str, role: str, text: str, ttl_seconds: int) -> None:
    entry = json.dumps({"role": role, "text": text[:1000], "at": int(time.time())}, ensure_ascii=False)
    pipe.lpush(key, entry)
    pipe.ltrim(key, 0, MAX_ENTRIES - 1)
    pipe.expire(key, ttl_seconds)


def recent(client: Redis, key: str) -> list[dict[str, Any]]:
    """Oldest first."""
    entries = []
    for raw in reversed(client.lrange(key, 0, MAX_ENTRIES - 1)):
        try:
            entries.append(json.loads(raw))
        except ValueError:
            continue
    return entries
