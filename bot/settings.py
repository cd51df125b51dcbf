"""Typed settings read from the environment (and `.env` when present).

Development mode has working defaults so that `make run` needs nothing; production mode refuses to start
without the settings a real deployment must provide, naming each one that is missing.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Production must not run on development defaults: these have to come from the environment.
REQUIRED_IN_PRODUCTION = (
    "WECHAT_TOKEN",
    "WECHAT_APPID",
    "WECHAT_SECRET",
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
)


class ConfigError(RuntimeError):
    """Settings that make the service unable to start; the message names what to fix."""


def _check_aes_key(value: str | None) -> str | None:
    if not value:
        return None
    if len(value) != 43:
        raise ValueError("must be the 43-character EncodingAESKey from the WeChat admin page")
    try:
        if len(base64.b64decode(value + "=")) != 32:
            raise ValueError("must decode to 32 bytes")
    except binascii.Error as exc:
        raise ValueError("is not valid base64") from exc
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    APP_ENV: Literal["development", "production", "test"] = "development"
    SECRET_KEY: str = "dev-only-secret-key-change-me"

    # WeChat Official Account
    WECHAT_TOKEN: str = "dev-token"
    WECHAT_APPID: str = "wx0000000000000000"
    WECHAT_SECRET: str = "dev-secret"
    WECHAT_AES_KEY: str | None = None
    WECHAT_PREVIOUS_AES_KEY: str | None = None
    WECHAT_API_BASE: str = "https://api.weixin.qq.com"
    MINIPROGRAM_APPID: str | None = None
    MINIPROGRAM_SECRET: str | None = None

    # Storage; without DATABASE_URL the database is a SQLite file in INSTANCE_DIR.
    INSTANCE_DIR: Path = PROJECT_ROOT / "instance"
    DATABASE_URL: str = ""
    REDIS_URL: str | None = None
    REDIS_PREFIX: str = "ylb:"

    # Webhook behaviour; WeChat changes some of these numbers over time, so they are settings.
    WEBHOOK_TIMESTAMP_WINDOW_SECONDS: int = Field(300, ge=0)  # 0 disables the check
    WEBHOOK_MAX_BODY_BYTES: int = Field(64 * 1024, ge=1024)
    REPLY_BUDGET_SECONDS: float = Field(3.0, gt=0, le=4.5)
    DEDUP_TTL_SECONDS: int = Field(600, ge=30)
    DEDUP_PENDING_TTL_SECONDS: int = Field(15, ge=5)
    DEDUP_RETRY_WAIT_SECONDS: float = Field(4.0, ge=0, le=4.8)
    CONVERSATION_TTL_SECONDS: int = Field(1800, ge=60)
    FORM_MAX_ATTEMPTS: int = Field(3, ge=1)
    HANDLER_THREADS: int = Field(16, ge=1)
    FOLLOWUP_THREADS: int = Field(4, ge=1)

    # Message log: "buffered" keeps the database off the request path (Redis list flushed in batches);
    # "sync" writes each message inside the request.
    MESSAGE_LOG_MODE: Literal["buffered", "sync"] = "buffered"
    MESSAGE_LOG_FLUSH_INTERVAL_SECONDS: float = Field(1.0, gt=0)
    MESSAGE_LOG_BATCH_SIZE: int = Field(500, ge=1)

    # Understanding and safety
    INTENT_FALLBACK_BELOW: float = Field(0.3, ge=0, le=1)  # below this nothing fits: say so, don't ask
    INTENT_MIN_CONFIDENCE: float = Field(0.55, ge=0, le=1)  # below this, ask instead of guessing
    INTENT_MIN_MARGIN: float = Field(0.15, ge=0, le=1)  # top two closer than this: ask
    CRISIS_MODEL_THRESHOLD: float = Field(0.5, ge=0, le=1)  # the model's crisis vote, a net under the rules
    CRISIS_FOLLOW_SECONDS: int = Field(7200, ge=0)  # later messages join the open crisis case this long
    TRANSCRIPT_TTL_SECONDS: int = Field(86400, ge=60)
    # Comma-separated in the environment (NoDecode: not JSON).
    STAFF_ALERT_OPENIDS: Annotated[list[str], NoDecode] = Field(default_factory=list)
    WECHAT_KF_ENABLED: bool = False  # the account has WeChat's customer-service seats: hand off there

    # WeChat API client (see bot/wechat/client.py for how these bound retries and waits).
    HTTP_TIMEOUT_SECONDS: float = Field(5.0, gt=0)
    WECHAT_TOKEN_REFRESH_MARGIN_SECONDS: int = Field(300, ge=0)
    WECHAT_RETRY_ATTEMPTS: int = Field(2, ge=0, le=5)
    WECHAT_RETRY_BACKOFF_SECONDS: float = Field(0.2, ge=0)
    WECHAT_RATE_PAUSE_SECONDS: float = Field(1.0, ge=0)
    # Calls per second per API, shared by all processes; "*" is every API not named. In the environment:
    # "custom_send=100,msg_sec_check=60,*=200". 0 means no limit.
    WECHAT_RATE_LIMITS: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=lambda: {"*": 200.0, "msg_sec_check": 60.0, "menu_create": 1.0}
    )
    WECHAT_RATE_MAX_WAIT_SECONDS: float = Field(2.0, ge=0)
    # The customer-service window, as WeChat allows it today: sends after a user message / after a click,
    # follow or scan.
    CS_WINDOW_SECONDS: int = Field(48 * 3600, ge=1)
    CS_WINDOW_MESSAGES: int = Field(5, ge=0)
    CS_EVENT_WINDOW_SECONDS: int = Field(60, ge=1)
    CS_EVENT_WINDOW_MESSAGES: int = Field(3, ge=0)
    CONFIG_ALERT_INTERVAL_SECONDS: int = Field(3600, ge=60)  # one staff alert per error and API this often

    # Miniprogram API: session lifetime and per-minute limits shared by all processes through Redis (0: none).
    API_SESSION_TTL_SECONDS: int = Field(30 * 86400, ge=60)
    API_LOGIN_RATE_PER_MINUTE: int = Field(10, ge=0)  # per client IP
    API_WRITE_RATE_PER_MINUTE: int = Field(30, ge=0)  # per user, over all writing requests
    # Micro-wishes: a claim not delivered within this many days returns the wish to the wall; open wishes
    # (not yet received or closed) one person may have submitted, and undelivered claims one donor may hold.
    WISH_CLAIM_EXPIRY_DAYS: int = Field(14, ge=1)
    WISH_OPEN_LIMIT_PER_USER: int = Field(3, ge=1)
    WISH_CLAIM_LIMIT_PER_USER: int = Field(5, ge=1)
    # Staff console (/console): sessions expire after this long idle / this long after login; logins are
    # limited per client IP and per username each minute (0: no limit), and an account locks after
    # CONSOLE_LOGIN_MAX_FAILURES wrong passwords in a row for CONSOLE_LOCKOUT_SECONDS.
    CONSOLE_SESSION_IDLE_SECONDS: int = Field(1800, ge=1)
    CONSOLE_SESSION_MAX_SECONDS: int = Field(12 * 3600, ge=1)
    CONSOLE_LOGIN_RATE_PER_MINUTE: int = Field(10, ge=0)
    CONSOLE_LOGIN_MAX_FAILURES: int = Field(5, ge=1)
    CONSOLE_LOCKOUT_SECONDS: int = Field(900, ge=1)
    # Delivery worker (services/delivery_worker.py): rows claimed per batch, how long a claim holds before
    # another worker may take the rows over, sends in flight per worker, retries, and quiet hours (China
    # time, "22:00-08:00"; empty: none) during which non-urgent notices wait.
    DELIVERY_BATCH_SIZE: int = Field(50, ge=1, le=1000)
    DELIVERY_LEASE_SECONDS: float = Field(120.0, gt=0)
    DELIVERY_CONCURRENCY: int = Field(4, ge=1, le=64)
    DELIVERY_POLL_SECONDS: float = Field(1.0, gt=0)
    DELIVERY_MAX_ATTEMPTS: int = Field(8, ge=1)
    DELIVERY_BACKOFF_SECONDS: float = Field(30.0, ge=0)
    QUIET_HOURS: str = "22:00-08:00"
    # Scheduler (`flask --app bot scheduler run`): one leader through a Redis lock that expires after
    # SCHEDULER_LOCK_TTL_SECONDS unless renewed every SCHEDULER_LOCK_RENEW_SECONDS; a follower takes over
    # within TTL + RENEW. Times of day are in SCHEDULER_TIMEZONE ("HH:MM").
    SCHEDULER_LOCK_TTL_SECONDS: float = Field(30.0, gt=0)
    SCHEDULER_LOCK_RENEW_SECONDS: float = Field(10.0, gt=0)
    SCHEDULER_TIMEZONE: str = "Asia/Shanghai"
    SCHEDULER_MISFIRE_GRACE_SECONDS: int = Field(600, ge=1)
    SCHEDULER_THREADS: int = Field(4, ge=1)
    # Reminders before an activity starts, in hours (comma-separated: "24,2"), and how often due ones are
    # looked for; the waitlist closes at the signup deadline, else WAITLIST_CLOSE_HOURS before the start.
    REMINDER_LEAD_HOURS: Annotated[list[float], NoDecode] = Field(default_factory=lambda: [24.0, 2.0])
    REMINDER_SCAN_SECONDS: int = Field(300, ge=1)
    WAITLIST_CLOSE_HOURS: float = Field(2.0, ge=0)
    # Status notices the immediate path could not deliver go to the delivery engine after settling this
    # long, if not older than the max age; wish claims are expired this often; tokens are checked this often.
    STATUS_NOTICE_SWEEP_SECONDS: int = Field(300, ge=1)
    STATUS_NOTICE_SETTLE_SECONDS: int = Field(120, ge=0)
    STATUS_NOTICE_MAX_AGE_HOURS: int = Field(72, ge=1)
    WISH_CLAIM_SWEEP_SECONDS: int = Field(300, ge=1)
    TOKEN_REFRESH_CHECK_SECONDS: int = Field(60, ge=1)
    # Retention: inbound messages and the rendered payloads of finished outbox rows are deleted after this
    # many days, at RETENTION_PURGE_AT; staff get the open help cases at STAFF_DIGEST_AT.
    MESSAGE_LOG_RETENTION_DAYS: int = Field(180, ge=1)
    OUTBOX_PAYLOAD_RETENTION_DAYS: int = Field(30, ge=1)
    RETENTION_PURGE_AT: str = Field("03:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    STAFF_DIGEST_AT: str = Field("09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    LOG_LEVEL: str = "INFO"

    _aes = field_validator("WECHAT_AES_KEY", "WECHAT_PREVIOUS_AES_KEY")(_check_aes_key)

    @field_validator("STAFF_ALERT_OPENIDS", mode="before")
    @classmethod
    def _split_openids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("REMINDER_LEAD_HOURS", mode="before")
    @classmethod
    def _split_hours(cls, value: object) -> object:
        if isinstance(value, str):
            return [float(part) for part in value.split(",") if part.strip()]
        return value

    @field_validator("WECHAT_RATE_LIMITS", mode="before")
    @classmethod
    def _parse_rates(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        rates: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            name, sep, number = part.partition("=")
            if not sep:
                raise ValueError(f"expected api=calls_per_second, got {part!r}")
            rates[name.strip()] = float(number)
        return rates

    @field_validator("QUIET_HOURS")
    @classmethod
    def _check_quiet_hours(cls, value: str) -> str:
        from services.delivery_quiet import QuietHours  # late: services import bot modules

        QuietHours.parse(value)
        return value

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.DATABASE_URL:
            self.DATABASE_URL = f"sqlite:///{self.INSTANCE_DIR / 'bot.db'}"
        return self

    @property
    def is_production(self) -> bool:
        return self.APP_ENV == "production"

    def check_production(self, provided: set[str]) -> None:
        missing = [name for name in REQUIRED_IN_PRODUCTION if name not in provided]
        if missing:
            raise ConfigError(
                "production mode needs these settings in the environment: " + ", ".join(missing)
            )


def load_settings(overrides: dict[str, object] | None = None) -> Settings:
    """Build settings from the environment, then `overrides` (used by tests and tools).

    `BOT_ENV_FILE` names the dotenv file (default `.env`; empty: none), so that tests never read a
    developer's local settings.
    """
    env_file = os.environ.get("BOT_ENV_FILE", ".env") or None
    try:
        settings = Settings(_env_file=env_file, **(overrides or {}))  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid settings: {problems}") from None
    if settings.is_production:
        provided = {name for name in settings.model_fields_set}
        settings.check_production(provided)
    return settings
