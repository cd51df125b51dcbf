"""Frequently asked questions from `content/faq.toml`, answered before intent classification."""

from __future__ import annotations

from functools import cache

from bot import content
from bot.dialogue.normalise import Normalised, normalise


@cache
def _entries() -> tuple[tuple[tuple[str, ...], str], ...]:
    return tuple(
        (tuple(normalise(k).compact for k in entry["keywords"]), entry["answer"].strip())
        for entry in content.faq().get("faq", [])
    )


def answer(norm: Normalised) -> str | None:
    for keywords, text in _entries():
        if any(k in norm.compact for k in keywords):
            return text
    return None


content.on_reload(_entries.cache_clear)
