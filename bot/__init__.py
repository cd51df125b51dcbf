"""WSGI factory and wiring. `flask --app bot …` and `gunicorn 'bot:create_app()'` both start here."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask

from bot.settings import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "create_app"]


def _configure_logging(settings: Settings) -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=settings.LOG_LEVEL.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    else:
        root.setLevel(settings.LOG_LEVEL.upper())
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    settings = load_settings(overrides)
    _configure_logging(settings)

    from bot import cli, health, webhook
    from bot.extensions import RedisExtension, db, enable_sqlite_pragmas, migrate
    from bot.followup import FollowUps
    from bot.inbound import InboundProcessor
    from bot.staff_alerts import ConfigAlerts
    from bot.wechat.factory import build_clients

    app = Flask(__name__, instance_path=str(settings.INSTANCE_DIR))
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.SECRET_KEY,
        SQLALCHEMY_DATABASE_URI=settings.DATABASE_URL,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "pool_recycle": 1800},
        MAX_CONTENT_LENGTH=settings.WEBHOOK_MAX_BODY_BYTES,
        JSON_AS_ASCII=False,
    )
    if settings.DATABASE_URL.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(settings.DATABASE_URL.removeprefix("sqlite:///")) or ".", exist_ok=True)

    db.init_app(app)
    enable_sqlite_pragmas(app)
    migrate.init_app(
        app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")
    )
    redis_ext = RedisExtension()
    redis_ext.init_app(app)

    alerts = ConfigAlerts(settings, redis_ext)
    client, miniprogram = build_clients(settings, redis_ext, on_config_error=alerts)
    followups = FollowUps(app, client, settings.FOLLOWUP_THREADS)
    alerts.followups = followups
    app.extensions["wechat_client"] = client
    app.extensions["miniprogram_client"] = miniprogram
    app.extensions["config_alerts"] = alerts
    app.extensions["followups"] = followups
    app.extensions["inbound"] = InboundProcessor(app, redis_ext, followups)

    from bot import content

    content.watch_for_changes(settings.APP_ENV == "development")

    webhook.init_app(app)
    app.register_blueprint(health.bp)
    import miniprogram_api

    miniprogram_api.init_app(app)
    import console

    console.init_app(app)
    cli.init_app(app)
    return app
