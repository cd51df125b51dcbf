"""Intents per day for the dashboard: the message log keeps what people said, not what the bot made of it,
so each day's texts are classified here the way `flask --app bot intents classify` does (crisis rules first,
then keywords and the model; a menu click counts as its menu intent). Finished days are kept in Redis
for a week; today's figures are recomputed at most once a minute.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from bot.cli import classify_text
from bot.dialogue.intents import menu_intent
from bot.extensions import get_redis
from services.eligibility import beijing_today
from services.stats import said_on

# Classifying costs about 1 ms a text: beyond this many a day, the figures are of that day's newest texts.
PER_DAY_LIMIT = 500
TODAY_TTL = 60
PAST_TTL = 8 * 86400


@dataclass(frozen=True, slots=True)
class DayIntents:
    day: date
    counts: dict[str, int]
    sampled: bool

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def fallback_rate(self) -> float:
        return 100.0 * self.counts.get("fallback", 0) / self.total if self.total else 0.0


def classify_day(session: Session, day: date) -> DayIntents:
    said, sampled = said_on(session, day, PER_DAY_LIMIT)
    counts: Counter[str] = Counter()
    # People repeat the same short texts ("见习", "活动"): each distinct text is classified once.
    for item, n in Counter(said).items():
        if item.event_key is not None:
            intent = menu_intent(item.event_key)
            if intent:
                counts[intent] += n
        elif item.text and item.text.strip():
            counts[classify_text(item.text)] += n
    return DayIntents(day, dict(counts), sampled)


def intents_for(session: Session, days: list[date]) -> list[DayIntents]:
    rx = get_redis(current_app)
    today = beijing_today()
    out = []
    for day in days:
        key = rx.key("console", "intents", day.isoformat())
        cached = None
        try:
            assert rx.client is not None
            cached = rx.client.get(key)
        except RedisError as exc:
            logging.getLogger(__name__).warning("intent cache unavailable: %s", exc)
        if cached:
            data = json.loads(cached)
            out.append(DayIntents(day, data["counts"], data["sampled"]))
            continue
        result = classify_day(session, day)
        try:
            assert rx.client is not None
            rx.client.set(
                key,
                json.dumps({"counts": result.counts, "sampled": result.sampled}),
                ex=TODAY_TTL if day >= today else PAST_TTL,
            )
        except RedisError:
            pass
        out.append(result)
    return out
