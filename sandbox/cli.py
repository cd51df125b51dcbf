"""`flask --app bot sandbox run`: the sandbox alone, pushing to a webhook served elsewhere."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from werkzeug.serving import run_simple

from sandbox.config import SandboxConfig
from sandbox.server import create_sandbox_app
from sandbox.state import SandboxState

sandbox_cli = AppGroup("sandbox", help="The local WeChat sandbox (fake WeChat servers and chat simulator).")


@sandbox_cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5001, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--webhook-url",
    default="http://127.0.0.1:5000/wechat",
    show_default=True,
    help="Where the simulator pushes messages (the bot's /wechat).",
)
def run_command(host: str, port: int, webhook_url: str) -> None:
    """Serve the sandbox; the token, appid and EncodingAESKey come from the bot's settings."""
    settings = current_app.config["SETTINGS"]
    config = SandboxConfig.from_settings(settings, webhook_url)
    app = create_sandbox_app(config, SandboxState(config))
    url = f"http://{host}:{port}"
    click.echo(f"打开 {url}/ 与机器人聊天（消息推送到 {webhook_url}）")
    click.echo(f"Open {url}/ to chat with the bot (pushes go to {webhook_url}).")
    if settings.WECHAT_API_BASE.rstrip("/") != url:
        click.echo(
            f"提示：机器人需设置 WECHAT_API_BASE={url} 才会把客服消息发到沙箱 "
            f"(the bot needs WECHAT_API_BASE={url} to send through the sandbox)."
        )
    run_simple(host, port, app, threaded=True, use_reloader=False)


def init_app(app: Flask) -> None:
    app.cli.add_command(sandbox_cli)
