"""Builds the Official Account and miniprogram clients from settings, sharing one Redis for their state."""

from __future__ import annotations

from bot.extensions import RedisExtension
from bot.settings import Settings
from bot.wechat.accounts import MiniprogramClient, OfficialAccountClient
from bot.wechat.client import ConfigAlert, RetryPolicy, new_session
from bot.wechat.limits import CustomerServiceWindow


def build_clients(
    settings: Settings, rx: RedisExtension, on_config_error: ConfigAlert | None = None
) -> tuple[OfficialAccountClient, MiniprogramClient | None]:
    """The miniprogram client is None until MINIPROGRAM_APPID and MINIPROGRAM_SECRET are set."""
    assert rx.client is not None
    session = new_session()  # one connection pool for both apps: same host
    common = {
        "redis": rx.client,
        "token_margin": float(settings.WECHAT_TOKEN_REFRESH_MARGIN_SECONDS),
        "rates": settings.WECHAT_RATE_LIMITS,
        "rate_max_wait": settings.WECHAT_RATE_MAX_WAIT_SECONDS,
        "retry": RetryPolicy(
            attempts=settings.WECHAT_RETRY_ATTEMPTS,
            backoff=settings.WECHAT_RETRY_BACKOFF_SECONDS,
            rate_pause=settings.WECHAT_RATE_PAUSE_SECONDS,
        ),
        "timeout": settings.HTTP_TIMEOUT_SECONDS,
        "on_config_error": on_config_error,
        "session": session,
    }
    oa = OfficialAccountClient(
        settings.WECHAT_API_BASE,
        settings.WECHAT_APPID,
        settings.WECHAT_SECRET,
        key_prefix=rx.key("wx", settings.WECHAT_APPID) + ":",
        window=customer_service_window(settings, rx),
        **common,  # type: ignore[arg-type]
    )
    mp = None
    if settings.MINIPROGRAM_APPID and settings.MINIPROGRAM_SECRET:
        mp = MiniprogramClient(
            settings.WECHAT_API_BASE,
            settings.MINIPROGRAM_APPID,
            settings.MINIPROGRAM_SECRET,
            key_prefix=rx.key("wx", settings.MINIPROGRAM_APPID) + ":",
            **common,  # type: ignore[arg-type]
        )
    return oa, mp


def customer_service_window(settings: Settings, rx: RedisExtension) -> CustomerServiceWindow:
    assert rx.client is not None
    return CustomerServiceWindow(
        rx.client,
        rx.key("csw") + ":",
        seconds=settings.CS_WINDOW_SECONDS,
        messages=settings.CS_WINDOW_MESSAGES,
        event_seconds=settings.CS_EVENT_WINDOW_SECONDS,
        event_messages=settings.CS_EVENT_WINDOW_MESSAGES,
    )
