"""What the sandbox is configured with: the apps it knows, where it pushes, WeChat's numbers, templates.

The numbers WeChat has changed over time (token life, customer-service window) are fields, so tests and demos
can shrink them; the defaults are today's values.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from bot.settings import Settings

AppKind = Literal["oa", "mp"]


@dataclass(frozen=True)
class AppCredentials:
    secret: str
    kind: AppKind  # "oa": Official Account, "mp": miniprogram


def default_keywords() -> dict[str, list[str]]:
    return {
        "risky": ["赌博", "代开发票", "办证", "枪支", "毒品", "裸聊"],
        "review": ["加微信", "转账", "兼职刷单", "私聊", "返利"],
    }


def default_templates() -> dict[str, dict[str, Any]]:
    """Demo templates: "subscribe" ones serve bizsend and the miniprogram, "template" ones template/send."""
    return {
        "tmpl_activity_reminder": {
            "kind": "subscribe",
            "title": "活动开始提醒",
            "fields": {"thing1": "thing", "time2": "time", "thing3": "thing"},
        },
        "tmpl_signup_result": {
            "kind": "subscribe",
            "title": "报名结果通知",
            "fields": {"thing1": "thing", "phrase2": "phrase", "thing3": "thing"},
        },
        "tmpl_volunteer_hours": {
            "kind": "subscribe",
            "title": "志愿时长到账通知",
            "fields": {"name1": "name", "number2": "number", "date3": "date"},
        },
        "tmpl_status": {
            "kind": "template",
            "title": "业务办理进度通知",
            "fields": {"thing1": "thing", "time2": "time"},
        },
        "tmpl_appointment": {
            "kind": "template",
            "title": "预约成功通知",
            "fields": {
                "thing1": "thing",
                "time2": "time",
                "phone_number3": "phone_number",
                "character_string4": "character_string",
            },
        },
    }


@dataclass
class SandboxConfig:
    apps: dict[str, AppCredentials]
    webhook_url: str | None = None
    webhook_token: str = "dev-token"
    webhook_aes_key: str | None = None
    oa_appid: str = ""  # empty: the first "oa" app
    oa_original_id: str = "gh_sandbox000001"
    token_ttl_seconds: int = 7200
    token_overlap_seconds: int = 300
    cs_window_seconds: int = 48 * 3600
    cs_window_messages: int = 5
    cs_event_window_seconds: int = 60
    cs_event_window_messages: int = 3
    login_code_ttl_seconds: int = 300
    sec_check_keywords: dict[str, list[str]] = field(default_factory=default_keywords)
    templates: dict[str, dict[str, Any]] = field(default_factory=default_templates)

    def __post_init__(self) -> None:
        if not self.oa_appid:
            self.oa_appid = next((appid for appid, app in self.apps.items() if app.kind == "oa"), "")

    def mp_appid(self) -> str | None:
        return next((appid for appid, app in self.apps.items() if app.kind == "mp"), None)

    def initial_templates(self) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self.templates)

    @classmethod
    def from_settings(cls, settings: Settings, webhook_url: str | None) -> SandboxConfig:
        """The apps and webhook secrets the bot runs with, so the two sides agree without extra setup."""
        apps = {settings.WECHAT_APPID: AppCredentials(settings.WECHAT_SECRET, "oa")}
        if settings.MINIPROGRAM_APPID and settings.MINIPROGRAM_SECRET:
            apps[settings.MINIPROGRAM_APPID] = AppCredentials(settings.MINIPROGRAM_SECRET, "mp")
        return cls(
            apps=apps,
            webhook_url=webhook_url,
            webhook_token=settings.WECHAT_TOKEN,
            webhook_aes_key=settings.WECHAT_AES_KEY,
            oa_appid=settings.WECHAT_APPID,
        )
