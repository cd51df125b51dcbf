"""The records the sandbox state keeps: followers, tokens, codes, sends and timeline entries."""

from __future__ import annotations

import base64
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

WindowKind = Literal["message", "event"]
Direction = Literal["in", "out"]


def new_openid() -> str:
    # WeChat's openids are 28 characters starting with "o".
    return "o" + base64.urlsafe_b64encode(secrets.token_bytes(20)).decode()[:27]


@dataclass
class Follower:
    """A fake Official Account follower, with the customer-service window WeChat keeps for them."""

    openid: str
    nickname: str
    following: bool = True
    subscribe_time: int = 0
    unionid: str | None = None
    subscribe_scene: str = "ADD_SCENE_SEARCH"
    qr_scene_str: str = ""
    language: str = "zh_CN"
    window_kind: WindowKind | None = None
    window_expires_at: float | None = None
    window_left: int = 0
    last_interaction_at: float | None = None
    credits: dict[str, int] = field(default_factory=dict)

    def window_open(self, now: float) -> bool:
        return self.following and self.window_expires_at is not None and now < self.window_expires_at

    def copy(self) -> Follower:
        held = {template_id: n for template_id, n in self.credits.items() if n > 0}
        return Follower(**{**asdict(self), "credits": held})

    def to_dict(self, now: float) -> dict[str, Any]:
        data = asdict(self)
        data["window"] = {
            "open": self.window_open(now),
            "kind": self.window_kind,
            "expires_at": self.window_expires_at,
            "left": self.window_left if self.window_open(now) else 0,
        }
        for name in ("window_kind", "window_expires_at", "window_left"):
            del data[name]
        return data


@dataclass
class TimelineEntry:
    """One thing a follower did (`in`) or received (`out`); ids are shared by all timelines."""

    id: int
    openid: str
    at: float
    direction: Direction
    kind: str  # in: text, click, follow, unfollow, subscribe_accept …; out: the msgtype, template, subscribe
    channel: str  # in: "user"; out: passive | custom | template | bizsend | subscribe
    payload: dict[str, Any]
    errcode: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SentMessage:
    """One call to a send endpoint. `errcode` 0: accepted; None: the connection was dropped (a fault)."""

    id: int
    at: float
    api: str
    appid: str
    openid: str
    payload: dict[str, Any]
    errcode: int | None
    msgid: int | None = None

    @property
    def accepted(self) -> bool:
        return self.errcode == 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "accepted": self.accepted}


@dataclass
class Token:
    token: str
    appid: str
    issued_at: float
    expires_at: float
    superseded: bool = False  # cut short by a newer token: after that it is "invalid" (40001), not "expired"


@dataclass
class LoginCode:
    code: str
    appid: str
    openid: str
    unionid: str | None
    expires_at: float
    used: bool = False


@dataclass
class PhoneCode:
    code: str
    phone: str
    expires_at: float
    used: bool = False
