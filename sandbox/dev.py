"""`make run` (`python -m sandbox.dev`): the bot and the WeChat sandbox in one process, on embedded defaults.

The bot talks to the sandbox instead of api.weixin.qq.com unless WECHAT_API_BASE is set in the environment,
so a newcomer can chat with it at once and nothing reaches real WeChat by accident.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

from flask import Flask
from werkzeug.serving import run_simple

log = logging.getLogger("sandbox.dev")

HOST = "127.0.0.1"


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be a port number, got {raw!r}") from None


def point_at_sandbox(sandbox_url: str) -> bool:
    """Send the bot's API calls to the sandbox unless the environment names a WeChat API on purpose.

    Only the real environment counts: `.env.example` (copied to `.env`) names api.weixin.qq.com, and a
    local run must not start talking to real WeChat just because a newcomer copied it.
    """
    if os.environ.get("WECHAT_API_BASE"):
        return False
    os.environ["WECHAT_API_BASE"] = sandbox_url
    return True


class QuietSimulatorPolls(logging.Filter):
    """The simulator page polls the sandbox every second; those lines would bury the bot's own log."""

    NOISE = ('"GET /sandbox/api/', "GET /sandbox/sim-static/")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in self.NOISE)


def migrate(app: Flask) -> None:
    from flask_migrate import upgrade

    # migrations/env.py applies alembic.ini's logging config; in this one process that would replace the
    # app's log format for the rest of the run, so the root logger is put back afterwards.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with app.app_context():
        upgrade()
    root.handlers[:] = handlers
    root.setLevel(level)


def sync_menu(app: Flask) -> None:
    """Create content/menu.toml's menu through the bot's own API client, as `menu sync` does."""
    from bot import content

    try:
        app.extensions["wechat_client"].create_menu({"button": content.menu()["button"]})
    except Exception as exc:  # the simulator falls back to content/menu.toml, so this is not fatal
        log.warning("menu sync to the sandbox failed: %s", exc)


def first_console_admin(app: Flask) -> str | None:
    """On a fresh development database, an `admin` account with a random password printed once, so a newcomer
    can open the console at once. Never in production (main refuses it) and never when any staff exists."""
    import secrets

    from sqlalchemy import select

    from bot.extensions import db
    from services.models_staff import StaffUser
    from services.staff import create_staff

    with app.app_context():
        try:
            if db.session.scalar(select(StaffUser.id).limit(1)) is not None:
                return None
            password = secrets.token_urlsafe(12)
            create_staff(db.session, "admin", password, ["admin", "counselor"], actor="cli:make-run")
            return password
        finally:
            db.session.remove()


def main() -> None:
    bot_port = _port("PORT", 5000)
    sandbox_port = _port("SANDBOX_PORT", 5001)
    sandbox_url = f"http://{HOST}:{sandbox_port}"
    uses_sandbox = point_at_sandbox(sandbox_url)

    from bot import ConfigError, create_app
    from sandbox.config import SandboxConfig
    from sandbox.server import SandboxServer

    try:
        app = create_app()
    except ConfigError as exc:
        raise SystemExit(f"cannot start: {exc}") from None
    settings = app.config["SETTINGS"]
    if settings.is_production:
        raise SystemExit("sandbox.dev is for development; APP_ENV=production runs with gunicorn")
    migrate(app)

    config = SandboxConfig.from_settings(settings, f"http://{HOST}:{bot_port}/wechat")
    try:
        sandbox = SandboxServer(config, host=HOST, port=sandbox_port).start()
    except OSError as exc:
        raise SystemExit(f"端口 {sandbox_port} 无法使用 ({exc}); set SANDBOX_PORT to another port") from None
    if uses_sandbox:
        sync_menu(app)
    admin_password = first_console_admin(app)
    # The scheduler (reminders, expiries, token refresh) in this process too; its leader lock is the
    # in-process Redis stand-in's, so a second `make run` would not share it (development only).
    from bot.scheduler import SchedulerService

    scheduler = SchedulerService(app).start()
    # One delivery worker (all SQLite allows) sends the outbox, so notices reach the simulator's chats.
    from services.delivery_worker import run_worker

    delivery_stop = threading.Event()
    threading.Thread(target=run_worker, args=(app, delivery_stop), name="delivery", daemon=True).start()
    # Both servers log through werkzeug's logger; only the sandbox's polling is filtered out.
    logging.getLogger("werkzeug").addFilter(QuietSimulatorPolls())

    print(flush=True)
    print(f"  打开 {sandbox.url}/ 与机器人聊天 (chat simulator)", flush=True)
    print(f"  机器人 (bot webhook): http://{HOST}:{bot_port}/wechat", flush=True)
    print(f"  工作人员控制台 (staff console): http://{HOST}:{bot_port}/console/", flush=True)
    if admin_password:
        print(f"  首次登录 (first login): admin / {admin_password}  (只显示这一次, shown once)", flush=True)
    if not uses_sandbox:
        print(
            f"  注意：WECHAT_API_BASE={os.environ['WECHAT_API_BASE']} 来自环境变量，客服消息不会进入模拟器 "
            "(API calls go there, not to the sandbox)",
            flush=True,
        )
    print(flush=True)
    try:
        run_simple(HOST, bot_port, app, threaded=True, use_reloader=False)
    except OSError as exc:
        print(f"端口 {bot_port} 无法使用 ({exc}); set PORT to another port", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        delivery_stop.set()
        scheduler.stop()
        sandbox.stop()
        app.extensions["followups"].shutdown()
        app.extensions["inbound"].shutdown()


if __name__ == "__main__":
    main()
