"""Content safety for text people write for others to read (wish stories, self-introductions).

Two checks, the stricter verdict wins: WeChat's `msg_sec_check` (the miniprogram client) and our own keyword
list (`content/safety.toml`). WeChat's check needs a miniprogram openid seen within the last two hours. When
it cannot run (no miniprogram client, no such openid, an API error or timeout) the keyword list still runs,
and text it does not flag comes back "review", never "pass": unchecked text reaches a person before others.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import content
from bot.dialogue.normalise import normalise
from services.models import ApiSession, User

log = logging.getLogger(__name__)

Suggest = Literal["pass", "review", "risky"]
# wechat: WeChat's verdict stands (our list found nothing stricter); keywords: our list was stricter;
# fallback: WeChat's check could not run, our list decided (and unflagged text is held for review).
Source = Literal["wechat", "keywords", "fallback"]
SEVERITY: dict[str, int] = {"pass": 0, "review": 1, "risky": 2}
SUGGESTS: tuple[Suggest, ...] = ("pass", "review", "risky")
WECHAT_LIMIT_CHARS = 2500  # msg_sec_check refuses longer content; longer text is checked in pieces
OPENID_RECENT = timedelta(hours=2)  # WeChat: the openid must have used the miniprogram within 2 h
UNCHECKED_REASON = "未能完成微信内容安全检测，需人工审核"
WECHAT_REASONS: dict[str, str | None] = {
    "pass": None,
    "review": "微信内容安全检测提示需人工审核",
    "risky": "微信内容安全检测未通过",
}


@dataclass(frozen=True, slots=True)
class SafetyVerdict:
    suggest: Suggest
    reason: str | None
    source: Source

    @property
    def passed(self) -> bool:
        return self.suggest == "pass"


@dataclass(frozen=True, slots=True)
class _Rule:
    suggest: Suggest
    reason: str
    words: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]


_rules: list[tuple[_Rule, ...]] = []
_rules_lock = threading.Lock()


def _compile(data: dict[str, Any]) -> tuple[_Rule, ...]:
    rules = []
    for spec in data.get("rules", []):
        words = tuple(w for w in (normalise(str(word)).compact for word in spec.get("words", [])) if w)
        patterns = tuple(re.compile(str(p)) for p in spec.get("patterns", []))
        rules.append(_Rule(spec["suggest"], str(spec.get("reason") or ""), words, patterns))
    # Strictest first, so the first match is the verdict.
    return tuple(sorted(rules, key=lambda r: -SEVERITY[r.suggest]))


def _current_rules() -> tuple[_Rule, ...]:
    if not _rules:
        with _rules_lock:
            if not _rules:
                _rules.append(_compile(content.safety()))
    return _rules[0]


def _forget_rules() -> None:
    _rules.clear()


content.on_reload(_forget_rules)


def keyword_verdict(text: str) -> tuple[Suggest, str | None]:
    """Our own list alone: the strictest rule a word or pattern of the text matches."""
    norm = normalise(text)
    for rule in _current_rules():
        if any(word in norm.compact for word in rule.words) or any(
            p.search(norm.text) or p.search(norm.compact) for p in rule.patterns
        ):
            return rule.suggest, rule.reason
    return "pass", None


def _wechat_verdict(text: str, openid: str, scene: int) -> Suggest | None:
    """WeChat's verdict, or None when the check could not run."""
    client = current_app.extensions.get("miniprogram_client") if has_app_context() else None
    if client is None:
        return None
    worst: Suggest = "pass"
    try:
        for start in range(0, len(text), WECHAT_LIMIT_CHARS):
            verdict = client.msg_sec_check(openid, text[start : start + WECHAT_LIMIT_CHARS], scene)
            suggest = verdict.suggest if verdict.suggest in SEVERITY else "review"
            if SEVERITY[suggest] > SEVERITY[worst]:
                worst = suggest
    except Exception as exc:  # any failure means "not checked", which the caller turns into review
        log.warning("msg_sec_check could not run: %s", exc)
        return None
    return worst


def check_text(text: str, *, openid: str | None = None, scene: int = 2) -> SafetyVerdict:
    """The verdict on `text` written by the user with miniprogram `openid` (None: WeChat's check is skipped).

    `scene` is WeChat's: 1 profile, 2 comment, 3 forum, 4 social log. Never raises for WeChat's failures.
    """
    if not text.strip():
        return SafetyVerdict("pass", None, "keywords")
    ours, reason = keyword_verdict(text)
    theirs = _wechat_verdict(text, openid, scene) if openid else None
    if theirs is None:
        if ours == "pass":
            return SafetyVerdict("review", UNCHECKED_REASON, "fallback")
        return SafetyVerdict(ours, reason, "fallback")
    if SEVERITY[ours] > SEVERITY[theirs]:
        return SafetyVerdict(ours, reason, "keywords")
    return SafetyVerdict(theirs, WECHAT_REASONS[theirs], "wechat")


def stricter(*verdicts: SafetyVerdict) -> SafetyVerdict:
    """The strictest of several verdicts (e.g. one per field); the first of equals."""
    return max(verdicts, key=lambda v: SEVERITY[v.suggest])


def check_fields(fields: dict[str, str], *, openid: str | None = None, scene: int = 2) -> SafetyVerdict:
    """One verdict for several fields written together: checked as one text, one WeChat call."""
    return check_text("\n".join(v for v in fields.values() if v), openid=openid, scene=scene)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def miniprogram_openid(
    session: Session, user: User, *, in_miniprogram: bool = False, now: datetime | None = None
) -> str | None:
    """The openid WeChat's check may be asked about, or None.

    `in_miniprogram`: the text arrives through an authenticated miniprogram request, so the user is in the
    app right now. Otherwise (chat) the user must have logged in to the miniprogram within the last two hours.
    """
    if not user.openid:
        return None
    if in_miniprogram:
        return user.openid
    now = now or datetime.now(UTC)
    last_login = session.scalar(
        select(ApiSession.created_at)
        .where(ApiSession.user_id == user.id)
        .order_by(ApiSession.created_at.desc())
        .limit(1)
    )
    if last_login is not None and now - _utc(last_login) <= OPENID_RECENT:
        return user.openid
    return None
