"""Intent names (a stable interface, see DESIGN.md) and menu keys mapped to them."""

from __future__ import annotations

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


def menu_intent(event_key: str | None) -> str | None:
    if not event_key:
        return None
    keys: dict[str, str] = content.intents().get("menu", {}).get("keys", {})
    intent = keys.get(event_key)
    return intent if intent in INTENTS else None
