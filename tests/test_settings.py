from __future__ import annotations

import pytest

from bot import ConfigError, create_app
from bot.settings import load_settings

PRODUCTION_ENV = {
    "APP_ENV": "production",
    "WECHAT_TOKEN": "t",
    "WECHAT_APPID": "wxabc",
    "WECHAT_SECRET": "s",
    "SECRET_KEY": "k",
    "DATABASE_URL": "sqlite://",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def test_production_without_token_stops_startup_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("WECHAT_TOKEN")
    with pytest.raises(ConfigError, match="WECHAT_TOKEN"):
        create_app()


def test_production_with_everything_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    app = create_app()
    assert app.config["SETTINGS"].is_production
    app.extensions["inbound"].shutdown()


def test_development_has_working_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = load_settings({"INSTANCE_DIR": tmp_path})
    assert settings.APP_ENV == "development"
    assert settings.DATABASE_URL == f"sqlite:///{tmp_path / 'bot.db'}"
    assert settings.REDIS_URL is None
    assert settings.WEBHOOK_TIMESTAMP_WINDOW_SECONDS == 300
    assert settings.REPLY_BUDGET_SECONDS == 3.0


@pytest.mark.parametrize("key", ["short", "!" * 43])
def test_bad_aes_key_is_refused_with_its_name(key: str) -> None:
    with pytest.raises(ConfigError, match="WECHAT_AES_KEY"):
        load_settings({"WECHAT_AES_KEY": key})
