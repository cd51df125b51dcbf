"""Fixtures: real PostgreSQL and Redis when reachable (required with REQUIRE_SERVICES=1), embedded otherwise.

The schema is always built by running the Alembic migrations. Every test gets its own Redis key prefix and
an empty message log, so tests do not see each other's state.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from bot import create_app
from bot.extensions import db, get_redis
from sandbox import AppCredentials, SandboxConfig, SandboxServer
from tests.wechat_factory import WeChatPusher

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CORPUS_DIR = Path(
    os.environ.get("WECHAT_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "wechat-corpus")
)

TOKEN = "test-token"
APPID = "wxtestappid000001"
SECRET = "test-secret"
MP_APPID = "wxtestminiprog01"
MP_SECRET = "test-mp-secret"
AES_KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode().rstrip("=")
OLD_AES_KEY = base64.b64encode(b"fedcba9876543210fedcba9876543210").decode().rstrip("=")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


# A developer's .env must not change what the tests see (the smoke test's server inherits this too).
os.environ["BOT_ENV_FILE"] = ""

# TEST_EMBEDDED=1 runs the suite on the embedded defaults even where the real services are up.
EMBEDDED = os.environ.get("TEST_EMBEDDED") == "1"
HAVE_PG = not EMBEDDED and _reachable("127.0.0.1", 5432)
HAVE_REDIS = not EMBEDDED and _reachable("127.0.0.1", 6379)
needs_redis = pytest.mark.skipif(not HAVE_REDIS, reason="buffering needs a real Redis shared by processes")


def pytest_report_header(config: pytest.Config) -> str:
    pg = "PostgreSQL" if HAVE_PG else "SQLite (PostgreSQL unreachable)"
    rd = "Redis" if HAVE_REDIS else "fakeredis (Redis unreachable)"
    return f"services: {pg}, {rd}"


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("REQUIRE_SERVICES") == "1" and not (HAVE_PG and HAVE_REDIS):
        missing = [name for name, ok in (("PostgreSQL", HAVE_PG), ("Redis", HAVE_REDIS)) if not ok]
        pytest.exit(f"REQUIRE_SERVICES=1 but unreachable: {', '.join(missing)}", returncode=3)


def migrate(database_url: str) -> None:
    """Build the schema the way production does: by running the migrations."""
    from flask_migrate import upgrade

    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": None})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    app.extensions["inbound"].shutdown()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not HAVE_PG:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        migrate(url)
        yield url
        return
    import psycopg

    name = f"ylb_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    migrate(url)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    """WeChat's servers, faked on localhost for the whole session: the only thing the tests mock."""
    config = SandboxConfig(
        apps={APPID: AppCredentials(SECRET, "oa"), MP_APPID: AppCredentials(MP_SECRET, "mp")},
        webhook_token=TOKEN,
        webhook_aes_key=AES_KEY,
        oa_appid=APPID,
    )
    with SandboxServer(config) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    sandbox_server.state.reset()
    return sandbox_server


AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(database_url: str, sandbox: SandboxServer) -> Iterator[AppFactory]:
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        settings: dict[str, Any] = {
            "APP_ENV": "test",
            "WECHAT_TOKEN": TOKEN,
            "WECHAT_APPID": APPID,
            "WECHAT_SECRET": SECRET,
            "WECHAT_AES_KEY": AES_KEY,
            "WECHAT_API_BASE": sandbox.url,
            "MINIPROGRAM_APPID": MP_APPID,
            "MINIPROGRAM_SECRET": MP_SECRET,
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL if HAVE_REDIS else None,
            "REDIS_PREFIX": f"test:{uuid.uuid4().hex[:10]}:",
            "MESSAGE_LOG_FLUSH_INTERVAL_SECONDS": 3600.0,  # tests flush explicitly
        }
        settings.update(overrides)
        app = create_app(settings)
        app.testing = True
        apps.append(app)
        return app

    yield factory

    for app in apps:
        app.extensions["inbound"].shutdown()
        app.extensions["followups"].shutdown()
        rx = get_redis(app)
        try:
            assert rx.client is not None
            keys = list(rx.client.scan_iter(match=rx.prefix + "*", count=1000))
            if keys:
                rx.client.delete(*keys)
        except Exception:  # an app built to simulate an outage has no Redis to clean
            pass
        with app.app_context():
            try:
                db.session.execute(text("DELETE FROM message_log"))
                db.session.commit()
            except Exception:
                db.session.rollback()
            finally:
                db.session.remove()
                db.engine.dispose()


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def wechat(client: Any, sandbox: SandboxServer) -> WeChatPusher:
    return WeChatPusher(client, TOKEN, APPID, AES_KEY, sandbox=sandbox)


def message_log_rows(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        try:
            rows = [
                dict(r) for r in db.session.execute(text("SELECT * FROM message_log ORDER BY id")).mappings()
            ]
        finally:
            db.session.remove()
    for row in rows:  # raw SQL returns SQLite's JSON as text
        if isinstance(row["payload"], str):
            row["payload"] = json.loads(row["payload"])
    return rows


def wait_for_cases(app: Flask, openid: str, kind: str, count: int = 1, timeout: float = 5.0) -> list[Any]:
    """Crisis cases are opened in the background, right after the reply: wait for them."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        cases = help_cases_for(app, openid, kind)
        if len(cases) >= count or time.monotonic() > deadline:
            return cases
        time.sleep(0.02)


def help_cases_for(app: Flask, openid: str, kind: str | None = None) -> list[Any]:
    from sqlalchemy import select

    from services.models import HelpCase

    query = select(HelpCase).where(HelpCase.openid == openid)
    if kind is not None:
        query = query.where(HelpCase.kind == kind)
    with app.app_context():
        try:
            return list(db.session.scalars(query.order_by(HelpCase.id)))
        finally:
            db.session.remove()


# -- services: a session on the test database, and the people/listing tables emptied after each test ------
DOMAIN_TABLES = (
    "match_signup",
    "match_profile",
    "match_event",
    "reminder_preference",
    "reminder_sent",
    "wish",
    "outbox",
    "notice",
    "subscription_credit",
    "signup",
    "application",
    "status_change",
    "user_notice",
    "api_session",
    "activity",
    "traineeship",
    "app_user",
)


def wipe_domain_tables() -> None:
    for table in DOMAIN_TABLES:
        db.session.execute(text(f"DELETE FROM {table}"))
    db.session.commit()


@pytest.fixture
def db_session(app: Flask) -> Iterator[Any]:
    """`db.session` inside an app context; the domain tables start and end empty, and no sender is set."""
    from services import notices

    with app.app_context():
        wipe_domain_tables()
        notices.set_sender(None)
        try:
            yield db.session
        finally:
            notices.set_sender(None)
            db.session.rollback()
            wipe_domain_tables()
            db.session.remove()
