"""Crisis detection: runs first on every text, before forms and intents, and cannot be bypassed.

Rules live in `content/crisis.toml` so that staff can add what they see. Recall is the priority; a few false
alarms are the accepted price (a counsellor looks at the case; the young person gets the help lines).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from bot import content
from bot.dialogue.normalise import Normalised, to_pinyin

CATEGORIES = ("suicide", "self_harm", "abuse", "sexual_assault", "threat")


@dataclass(frozen=True, slots=True)
class CrisisSignal:
    category: str
    evidence: str  # which rule fired, for the case record and for tuning


@dataclass(frozen=True, slots=True)
class _Rule:
    category: str
    patterns: re.Pattern[str] | None
    pinyin: tuple[str, ...]
    homophones: tuple[str, ...]
    english: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Rules:
    hyperbole: re.Pattern[str] | None
    hyperbole_pinyin: re.Pattern[str] | None
    rules: tuple[_Rule, ...]


@dataclass(frozen=True, slots=True)
class Screening:
    signal: CrisisSignal | None
    hyperbole: bool  # an idiom like 笑死 was set aside: the model's vote on 死 is not to be trusted


def _alternation(items: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{p})" for p in items)) if items else None


@cache
def _rules() -> _Rules:
    data = content.crisis()
    hyperbole = sorted(data.get("hyperbole", []), key=len, reverse=True)
    rules = []
    for rule in data.get("rules", []):
        rules.append(
            _Rule(
                category=rule["category"],
                patterns=_alternation(rule.get("patterns", [])),
                pinyin=tuple(p.replace(" ", "") for p in rule.get("pinyin", [])),
                homophones=tuple(rule.get("homophones", [])),
                english=tuple(rule.get("english", [])),
            )
        )
    pinyin_idioms = sorted(data.get("hyperbole_pinyin", []), key=len, reverse=True)
    return _Rules(
        hyperbole=_alternation(hyperbole),
        hyperbole_pinyin=_alternation([re.escape(h) for h in pinyin_idioms]),
        rules=tuple(rules),
    )


def reset() -> None:
    _rules.cache_clear()


content.on_reload(reset)


def detect(norm: Normalised) -> CrisisSignal | None:
    return screen(norm).signal


def screen(norm: Normalised) -> Screening:
    rules = _rules()
    compact = rules.hyperbole.sub("", norm.compact) if rules.hyperbole else norm.compact
    latin = (
        rules.hyperbole_pinyin.sub("", norm.latin) if rules.hyperbole_pinyin and norm.latin else norm.latin
    )
    hyperbole = compact != norm.compact or latin != norm.latin
    return Screening(_match(rules, norm, compact, latin), hyperbole)


def _match(rules: _Rules, norm: Normalised, compact: str, latin: str) -> CrisisSignal | None:
    spoken = None  # pinyin of the Chinese characters, computed only if some rule needs it
    for rule in rules.rules:
        if rule.patterns is not None:
            hit = rule.patterns.search(compact)
            if hit:
                return CrisisSignal(rule.category, f"pattern:{hit.group(0)}")
        if norm.latin:
            for spelling in rule.pinyin:
                if spelling in latin:
                    return CrisisSignal(rule.category, f"pinyin:{spelling}")
            for phrase in rule.english:
                if phrase in norm.text:
                    return CrisisSignal(rule.category, f"english:{phrase}")
        if rule.homophones and compact:
            if spoken is None:
                spoken = to_pinyin(compact)
            for sound in rule.homophones:
                if sound in spoken:
                    return CrisisSignal(rule.category, f"homophone:{sound}")
    return None
