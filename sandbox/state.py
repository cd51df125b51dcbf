"""Everything the fake WeChat remembers, in memory and thread-safe (one re-entrant lock).

Time comes from `now()`: the injected `clock` plus an offset that `advance(seconds)` moves, so tests can
age tokens, windows and codes without sleeping. Endpoint code that needs several steps to be atomic (check
the window, then use it) holds `state.lock` around them.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from sandbox.config import AppCredentials, AppKind, SandboxConfig
from sandbox.credentials import CodeRules, TokenRules
from sandbox.faults import Fault, FaultRegistry
from sandbox.records import (
    Direction,
    Follower,
    LoginCode,
    PhoneCode,
    SentMessage,
    TimelineEntry,
    Token,
    WindowKind,
    new_openid,
)

__all__ = [
    "AppCredentials",
    "Follower",
    "SandboxConfig",
    "SandboxState",
    "SentMessage",
    "TimelineEntry",
]

TYPING_SECONDS = 30  # typing is allowed this long after the user's last interaction


class SandboxState(TokenRules, CodeRules, FaultRegistry):
    def __init__(self, config: SandboxConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.lock = threading.RLock()
        self._sent_changed = threading.Condition(self.lock)
        self._ids = itertools.count(1)  # timeline ids, shared by all timelines
        self._msgids = itertools.count(2_000_000_001)
        self.reset()

    # -- time ---------------------------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the sandbox's time forward (tokens, windows and codes age); returns the new now()."""
        with self.lock:
            self._offset += seconds
            return self.now()

    def reset(self) -> None:
        """Forget everything except the configuration (the clock offset too)."""
        with self.lock:
            self._offset = 0.0
            self._followers: dict[str, Follower] = {}
            self._credits: dict[str, dict[str, int]] = {}
            self._tokens: dict[str, Token] = {}
            self._current_token: dict[str, str] = {}
            self._fetches: Counter[str] = Counter()
            self._calls: Counter[str] = Counter()
            self._login_codes: dict[str, LoginCode] = {}
            self._phone_codes: dict[str, PhoneCode] = {}
            self._client_msg_ids: dict[tuple[str, str, str], tuple[int, float]] = {}
            self._sent: list[SentMessage] = []
            self._timeline: dict[str, list[TimelineEntry]] = {}
            self._faults: dict[str, Fault] = {}
            self._templates = self.config.initial_templates()
            self.menu: dict[str, Any] | None = None
            self._sent_changed.notify_all()

    # -- followers ----------------------------------------------------------------------------------------
    def add_follower(
        self,
        openid: str | None = None,
        nickname: str | None = None,
        *,
        unionid: str | None = None,
        subscribe_scene: str = "ADD_SCENE_SEARCH",
        qr_scene_str: str = "",
    ) -> Follower:
        """A new follower; an existing openid is followed again instead, so setup code can be repeated."""
        with self.lock:
            openid = openid or new_openid()
            existing = self._followers.get(openid)
            if existing is not None:
                if nickname:
                    existing.nickname = nickname
                if not existing.following:
                    self.follow(openid)
                return existing.copy()
            follower = Follower(
                openid=openid,
                nickname=nickname or f"关注者{len(self._followers) + 1}",
                subscribe_time=int(self.now()),
                unionid=unionid,
                subscribe_scene=subscribe_scene,
                qr_scene_str=qr_scene_str,
                credits=self._credits.setdefault(openid, {}),
            )
            self._followers[openid] = follower
            return follower.copy()

    def follower(self, openid: str) -> Follower | None:
        with self.lock:
            found = self._followers.get(openid)
            return found.copy() if found else None

    def followers(self) -> list[Follower]:
        with self.lock:
            return [f.copy() for f in self._followers.values()]

    def follow(self, openid: str, *, subscribe_scene: str | None = None, qr_scene_str: str = "") -> Follower:
        """(Re)follow; an unknown openid becomes a new follower. Does not open the window: that is
        `user_interacted(openid, "event")`, which the simulator calls for the follow event."""
        with self.lock:
            if openid not in self._followers:
                return self.add_follower(
                    openid, subscribe_scene=subscribe_scene or "ADD_SCENE_SEARCH", qr_scene_str=qr_scene_str
                )
            follower = self._followers[openid]
            follower.following = True
            follower.subscribe_time = int(self.now())
            if subscribe_scene:
                follower.subscribe_scene = subscribe_scene
                follower.qr_scene_str = qr_scene_str
            return follower.copy()

    def unfollow(self, openid: str) -> Follower:
        """Stop following (KeyError for an unknown openid); closes the customer-service window."""
        with self.lock:
            follower = self._followers[openid]
            follower.following = False
            follower.window_kind, follower.window_expires_at, follower.window_left = None, None, 0
            return follower.copy()

    # -- customer-service window --------------------------------------------------------------------------
    def user_interacted(self, openid: str, kind: WindowKind) -> Follower:
        """A user message opens 5 sends in 48 h, a click/follow/scan 3 in 1 min (numbers from the config).

        A new interaction resets the count, except that an event does not cut short an open message window.
        KeyError for an unknown openid.
        """
        if kind not in ("message", "event"):
            raise ValueError("kind must be 'message' or 'event'")
        with self.lock:
            follower = self._followers[openid]
            now = self.now()
            follower.last_interaction_at = now
            if kind == "event" and follower.window_kind == "message" and follower.window_open(now):
                return follower.copy()
            cfg = self.config
            seconds, count = (
                (cfg.cs_window_seconds, cfg.cs_window_messages)
                if kind == "message"
                else (cfg.cs_event_window_seconds, cfg.cs_event_window_messages)
            )
            follower.window_kind, follower.window_expires_at, follower.window_left = (
                kind,
                now + seconds,
                count,
            )
            return follower.copy()

    def use_window(self, openid: str) -> int:
        """Spend one customer-service send: 0, or WeChat's refusal (40003, 45015, 45047)."""
        with self.lock:
            follower = self._followers.get(openid)
            if follower is None:
                return 40003
            if not follower.window_open(self.now()):
                return 45015
            if follower.window_left <= 0:
                return 45047
            follower.window_left -= 1
            return 0

    def may_type(self, openid: str) -> int:
        with self.lock:
            follower = self._followers.get(openid)
            if follower is None:
                return 40003
            last = follower.last_interaction_at
            if not follower.following or last is None or self.now() - last > TYPING_SECONDS:
                return 45015
            return 0

    # -- subscription credits -----------------------------------------------------------------------------
    def grant_credit(self, openid: str, template_id: str, count: int = 1) -> int:
        """One "accept" of a one-time subscription is one credit; returns the credits now held."""
        with self.lock:
            held = self._credits.setdefault(openid, {})
            held[template_id] = max(0, held.get(template_id, 0) + count)
            return held[template_id]

    def credits(self, openid: str) -> dict[str, int]:
        with self.lock:
            return {t: n for t, n in self._credits.get(openid, {}).items() if n > 0}

    def has_credit(self, openid: str, template_id: str) -> bool:
        with self.lock:
            return self._credits.get(openid, {}).get(template_id, 0) > 0

    def take_credit(self, openid: str, template_id: str) -> bool:
        with self.lock:
            if not self.has_credit(openid, template_id):
                return False
            self._credits[openid][template_id] -= 1
            return True

    # -- templates ----------------------------------------------------------------------------------------
    def template(self, template_id: str) -> dict[str, Any] | None:
        with self.lock:
            found = self._templates.get(template_id)
            return copy.deepcopy(found) if found else None

    def templates(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self._templates)

    def register_template(
        self, template_id: str, kind: str, fields: dict[str, str], title: str | None = None
    ) -> dict[str, Any]:
        if kind not in ("subscribe", "template"):
            raise ValueError("kind must be 'subscribe' or 'template'")
        if not template_id or not all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items()):
            raise ValueError("template_id must be set and fields must map keys to type names")
        with self.lock:
            self._templates[template_id] = {
                "kind": kind,
                "title": title or template_id,
                "fields": dict(fields),
            }
            return copy.deepcopy(self._templates[template_id])

    # -- the record and the timelines -----------------------------------------------------------------------
    def next_msgid(self) -> int:
        with self.lock:
            return next(self._msgids)

    def record_sent(
        self,
        api: str,
        appid: str,
        openid: str,
        payload: dict[str, Any],
        errcode: int | None,
        msgid: int | None = None,
    ) -> SentMessage:
        with self.lock:
            message = SentMessage(
                len(self._sent) + 1, self.now(), api, appid, openid, payload, errcode, msgid
            )
            self._sent.append(message)
            self._sent_changed.notify_all()
            return message

    def sent(
        self,
        api: str | None = None,
        openid: str | None = None,
        after: int = 0,
        accepted: bool | None = None,
    ) -> list[SentMessage]:
        with self.lock:
            return [
                m
                for m in self._sent[max(after, 0) :]
                if (api is None or m.api == api)
                and (openid is None or m.openid == openid)
                and (accepted is None or m.accepted == accepted)
            ]

    def wait_for_sent(
        self, count: int, api: str | None = None, timeout: float = 5.0, openid: str | None = None
    ) -> list[SentMessage]:
        """Block until `count` matching calls are on record (or the timeout passes); returns them all."""
        with self._sent_changed:
            self._sent_changed.wait_for(lambda: len(self.sent(api, openid)) >= count, timeout=timeout)
            return self.sent(api, openid)

    def _add_entry(
        self, openid: str, direction: Direction, kind: str, channel: str, payload: dict[str, Any] | None
    ) -> TimelineEntry:
        with self.lock:
            entry = TimelineEntry(
                next(self._ids), openid, self.now(), direction, kind, channel, dict(payload or {})
            )
            self._timeline.setdefault(openid, []).append(entry)
            return entry

    def record_inbound(self, openid: str, kind: str, payload: dict[str, Any] | None = None) -> TimelineEntry:
        """What the follower did (text, click, follow, unfollow, subscribe_accept …). Only records: the
        simulator also calls follow/unfollow/user_interacted/grant_credit for the effect."""
        return self._add_entry(openid, "in", kind, "user", payload)

    def record_passive(self, openid: str, kind: str, payload: dict[str, Any] | None = None) -> TimelineEntry:
        """A passive reply our webhook answered with (kind: its MsgType)."""
        return self._add_entry(openid, "out", kind, "passive", payload)

    def record_outbound(self, openid: str, channel: str, kind: str, payload: dict[str, Any]) -> TimelineEntry:
        """An accepted API send reaching the follower (called by the endpoints)."""
        return self._add_entry(openid, "out", kind, channel, payload)

    def timeline(self, openid: str, after: int = 0) -> list[TimelineEntry]:
        with self.lock:
            return [e for e in self._timeline.get(openid, []) if e.id > after]

    def knows(self, openid: str) -> bool:
        with self.lock:
            return openid in self._followers or openid in self._timeline

    def app_kind(self, appid: str) -> AppKind | None:
        app = self.config.apps.get(appid)
        return app.kind if app else None

    def client_msg(self, key: tuple[str, str, str], msgid: int | None = None) -> int | None:
        """template/send's dedup: the msgid already given for (appid, openid, client_msg_id) within 10 min;
        with `msgid`, remember it."""
        with self.lock:
            now = self.now()
            if msgid is not None:
                self._client_msg_ids[key] = (msgid, now)
                return msgid
            seen = self._client_msg_ids.get(key)
            return seen[0] if seen and now - seen[1] < 600 else None

    # -- counters -----------------------------------------------------------------------------------------
    def count_call(self, endpoint: str) -> None:
        with self.lock:
            self._calls[endpoint] += 1

    def calls(self) -> dict[str, int]:
        with self.lock:
            return dict(self._calls)

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {"token_fetches": dict(self._fetches), "calls": dict(self._calls)}
