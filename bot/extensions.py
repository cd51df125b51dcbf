"""Extensions shared by the app, the CLI and background threads; wired in `create_app` with `init_app`."""

from __future__ import annotations

import logging

import redis
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine

from services.models import Base

log = logging.getLogger(__name__)

db = SQLAlchemy(model_class=Base)
migrate = Migrate()


class RedisExtension:
    """One Redis client per app, plus namespaced key helpers.

    With `REDIS_URL` unset the client is an in-process fakeredis: fine for one development process,
    wrong for anything with more than one process (dedup and locks would not be shared).
    """

    def __init__(self) -> None:
        self.client: redis.Redis | None = None
        self.prefix = ""
        self.embedded = False

    def init_app(self, app: Flask) -> None:
        settings = app.config["SETTINGS"]
        self.prefix = settings.REDIS_PREFIX
        if settings.REDIS_URL:
            self.client = redis.Redis.from_url(
                settings.REDIS_URL, socket_timeout=2.0, socket_connect_timeout=2.0, health_check_interval=30
            )
            self.embedded = False
        else:
            import fakeredis

            self.client = fakeredis.FakeRedis()
            self.embedded = True
            log.warning("REDIS_URL is not set: using an in-process Redis stand-in (development only)")
        app.extensions["redis"] = self

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)


def enable_sqlite_pragmas(app: Flask) -> None:
    """SQLite defaults are poor for a web app: WAL lets readers run beside the single writer."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return

    with app.app_context():
        engine: Engine = db.engine

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=5000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()


def get_redis(app: Flask) -> RedisExtension:
    ext: RedisExtension = app.extensions["redis"]
    return ext
