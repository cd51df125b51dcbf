"""Quiet hours: a daily span of China time (e.g. "22:00-08:00") in which non-urgent notices wait."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time

from bot.wechat.limits import CHINA

_SPAN = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str | None) -> QuietHours | None:
        """None for an empty setting; ValueError for one that is not "HH:MM-HH:MM"."""
        if not text or not text.strip():
            return None
        match = _SPAN.match(text)
        if match is None:
            raise ValueError(f"quiet hours must look like 22:00-08:00, got {text!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if (h1, m1) == (h2, m2):
            raise ValueError("quiet hours start and end at the same time")
        return cls(time(h1, m1), time(h2, m2))

    def active(self, at: datetime) -> bool:
        """Whether `at` (aware) falls inside the span; a span over midnight wraps."""
        local = at.astimezone(CHINA).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end
