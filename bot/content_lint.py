"""Checks for everything in `content/`, run by `flask --app bot content lint` and by the tests."""

from __future__ import annotations

import re
import string
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import content
from bot.dialogue.crisis import CATEGORIES
from bot.dialogue.intents import INTENTS
from bot.dialogue.normalise import normalise
from bot.wechat.replies import MAX_TEXT_BYTES

PHONE = re.compile(r"^(\d{3,5}|0\d{2,3}-\d{7,8}|1[3-9]\d{9})$")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
REQUIRED_LINES = ("12355", "12356", "police", "ambulance")
MIN_EXAMPLES = 20


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _lint_intents(problems: list[str]) -> None:
    table = content.intents()
    seen: dict[str, str] = {}
    for intent, spec in table.items():
        if intent == "menu":
            for key, target in spec.get("keys", {}).items():
                if target not in INTENTS:
                    problems.append(f"intents.toml: menu key {key} maps to unknown intent {target!r}")
            continue
        if intent not in INTENTS:
            problems.append(f"intents.toml: unknown intent {intent!r}")
        if "label" in spec and (not isinstance(spec["label"], str) or not spec["label"].strip()):
            problems.append(f"intents.toml: {intent} has an empty label")
        for kw in spec.get("keywords", []):
            norm = normalise(kw).compact
            if not norm:
                problems.append(f"intents.toml: empty keyword under {intent}")
            elif norm in seen and seen[norm] != intent:
                problems.append(f"intents.toml: keyword {kw!r} is under both {seen[norm]} and {intent}")
            seen[norm] = intent
    for intent, spec in content.intent_examples().items():
        if intent not in INTENTS:
            problems.append(f"intent_examples.toml: unknown intent {intent!r}")
        elif len(spec.get("examples", [])) < MIN_EXAMPLES:
            problems.append(f"intent_examples.toml: {intent} has fewer than {MIN_EXAMPLES} examples")


def _lint_replies(problems: list[str]) -> None:
    try:
        replies = content.replies()
    except content.ContentError as exc:
        problems.append(str(exc))
        return
    for key, value in replies.items():
        if not isinstance(value, str):
            problems.append(f"replies.toml: {key} is not text")
            continue
        if len(value.encode()) > MAX_TEXT_BYTES:
            problems.append(f"replies.toml: {key} is over {MAX_TEXT_BYTES} bytes")
        try:
            placeholders = _placeholders(value)
        except ValueError as exc:
            problems.append(f"replies.toml: {key} has a broken placeholder: {exc}")
            continue
        expected = content.PLACEHOLDERS.get(key, set())
        if placeholders != expected:
            problems.append(
                f"replies.toml: {key} uses {sorted(placeholders)}, the code fills {sorted(expected)}"
            )


def _lint_directory(problems: list[str]) -> None:
    directory = content.help_directory()
    lines: dict[str, Any] = directory.get("lines", {})
    for name in REQUIRED_LINES:
        if name not in lines:
            problems.append(f"help_directory.toml: line {name} is missing")
    for name, line in lines.items():
        if not PHONE.match(str(line.get("phone", ""))):
            problems.append(f"help_directory.toml: line {name} has a malformed phone {line.get('phone')!r}")
        for field in ("name", "hours", "offers"):
            if not line.get(field):
                problems.append(f"help_directory.toml: line {name} lacks {field}")
    hours = directory.get("office_hours", {})
    if not (HHMM.match(str(hours.get("open", ""))) and HHMM.match(str(hours.get("close", "")))):
        problems.append("help_directory.toml: office_hours open/close must be HH:MM")
    if not hours.get("weekdays") or not all(d in range(1, 8) for d in hours["weekdays"]):
        problems.append("help_directory.toml: office_hours weekdays must be ISO weekday numbers 1-7")
    try:
        ZoneInfo(str(hours.get("timezone")))
    except (ZoneInfoNotFoundError, ValueError):
        problems.append("help_directory.toml: office_hours timezone is not a known zone")
    for name, topic in directory.get("topics", {}).items():
        if not topic.get("keywords") or not topic.get("guidance") or not topic.get("label"):
            problems.append(f"help_directory.toml: topic {name} needs label, keywords and guidance")
        elif len(topic["guidance"].encode()) > 1024:
            problems.append(f"help_directory.toml: topic {name} guidance is over 1024 bytes")


def _lint_crisis(problems: list[str]) -> None:
    data = content.crisis()
    for idiom in data.get("hyperbole", []):
        try:
            re.compile(idiom)
        except re.error as exc:
            problems.append(f"crisis.toml: hyperbole {idiom!r} does not compile: {exc}")
    for rule in data.get("rules", []):
        if rule.get("category") not in CATEGORIES:
            problems.append(f"crisis.toml: unknown category {rule.get('category')!r}")
        for pattern in rule.get("patterns", []):
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append(f"crisis.toml: pattern {pattern!r} does not compile: {exc}")
        for word in rule.get("pinyin", []) + rule.get("homophones", []):
            if not re.fullmatch(r"[a-z ]+", word):
                problems.append(f"crisis.toml: pinyin {word!r} must be lower-case letters")


def _lint_menu(problems: list[str]) -> None:
    menu = content.menu()
    keys = content.intents().get("menu", {}).get("keys", {})
    buttons = menu.get("button", [])
    if not 1 <= len(buttons) <= 3:
        problems.append("menu.toml: the menu needs 1 to 3 top-level buttons")
    for button in buttons:
        name = button.get("name", "")
        if not name or len(name.encode()) > 16:
            problems.append(f"menu.toml: top-level name {name!r} must be 1-16 bytes")
        subs = button.get("sub_button", [])
        if len(subs) > 5:
            problems.append(f"menu.toml: {name} has more than 5 sub-buttons")
        for item in subs or [button]:
            label = item.get("name", "")
            if item is not button and (not label or len(label.encode()) > 60):
                problems.append(f"menu.toml: sub-button name {label!r} must be 1-60 bytes")
            kind = item.get("type")
            if kind == "click" and item.get("key") not in keys:
                problems.append(
                    f"menu.toml: {label} uses key {item.get('key')!r}, not listed in intents.toml"
                )
            elif kind == "view" and not str(item.get("url", "")).startswith(("https://", "http://")):
                problems.append(f"menu.toml: {label} needs an http(s) url")
            elif kind == "miniprogram" and not (
                item.get("appid") and item.get("pagepath") and item.get("url")
            ):
                problems.append(f"menu.toml: {label} needs appid, pagepath and a fallback url")
            elif kind not in {"click", "view", "miniprogram", None}:
                problems.append(f"menu.toml: {label} has unsupported type {kind!r}")


def _lint_faq(problems: list[str]) -> None:
    seen: set[str] = set()
    for entry in content.faq().get("faq", []):
        name = entry.get("id", "?")
        if name in seen:
            problems.append(f"faq.toml: id {name} is used twice")
        seen.add(name)
        if not entry.get("keywords") or not all(isinstance(k, str) and k.strip() for k in entry["keywords"]):
            problems.append(f"faq.toml: {name} needs non-empty keywords")
        answer = entry.get("answer", "")
        if not answer.strip():
            problems.append(f"faq.toml: {name} has no answer")
        elif len(answer.encode()) > MAX_TEXT_BYTES:
            problems.append(f"faq.toml: {name} answer is over {MAX_TEXT_BYTES} bytes")


def _lint_safety(problems: list[str]) -> None:
    rules = content.safety().get("rules", [])
    if not rules:
        problems.append("safety.toml: no rules")
    for number, rule in enumerate(rules, 1):
        if rule.get("suggest") not in ("review", "risky"):
            problems.append(f"safety.toml: rule {number} suggest must be review or risky")
        if not str(rule.get("reason", "")).strip():
            problems.append(f"safety.toml: rule {number} needs a reason")
        words, patterns = rule.get("words", []), rule.get("patterns", [])
        if not words and not patterns:
            problems.append(f"safety.toml: rule {number} has neither words nor patterns")
        for word in words:
            if not isinstance(word, str) or not normalise(word).compact:
                problems.append(f"safety.toml: rule {number} has an empty word {word!r}")
        for pattern in patterns:
            try:
                re.compile(pattern)
            except (re.error, TypeError) as exc:
                problems.append(f"safety.toml: pattern {pattern!r} does not compile: {exc}")


def _lint_templates(problems: list[str]) -> None:
    from services import delivery_templates  # it reads content through bot.content: import late

    problems.extend(delivery_templates.lint())


def lint() -> list[str]:
    """Every problem found, as readable sentences; empty when the content is good."""
    problems: list[str] = []
    for check in (
        _lint_intents,
        _lint_replies,
        _lint_directory,
        _lint_crisis,
        _lint_menu,
        _lint_faq,
        _lint_safety,
        _lint_templates,
    ):
        try:
            check(problems)
        except content.ContentError as exc:
            problems.append(str(exc))
        except (KeyError, TypeError, AttributeError) as exc:
            problems.append(f"{check.__name__[6:]}: unexpected structure ({type(exc).__name__}: {exc})")
    return problems
