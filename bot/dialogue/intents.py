"""Intent names and the first, keyword-based classifier.

The names are a stable interface (see DESIGN.md). The keyword list comes from `content/intents.toml`;
the statistical classifier and crisis detection arrive with the intents issue and plug in here.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from bot import content

INTENTS = (
    "crisis",
    "help_12355",
    "traineeship",
    "matchmaking",
    "micro_wish",
    "activity",
    "reminders",
    "human",
    "greeting",
    "fallback",
)


def normalise(text: str) -> str:
    # NFKC folds full-width letters, digits and punctuation to their half-width forms.
    return unicodedata.normalize("NFKC", text).strip().lower()


@cache
def _keywords() -> tuple[tuple[str, tuple[str, ...]], ...]:
    table = content.intents()
    out = []
    for intent in INTENTS:
        words = table.get(intent, {}).get("keywords", [])
        if words:
            out.append((intent, tuple(normalise(w) for w in words)))
    return tuple(out)


def classify(text: str) -> str:
    norm = normalise(text)
    if not norm:
        return "fallback"
    for intent, words in _keywords():
        if any(w in norm for w in words):
            return intent
    return "fallback"


def menu_intent(event_key: str | None) -> str | None:
    if not event_key:
        return None
    keys: dict[str, str] = content.intents().get("menu", {}).get("keys", {})
    intent = keys.get(event_key)
    return intent if intent in INTENTS else None
