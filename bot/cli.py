"""`flask --app bot …` commands beyond Flask-Migrate's `db` group."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from bot import message_log

messages_cli = AppGroup("messages", help="The inbound message log.")


@messages_cli.command("flush")
def flush_command() -> None:
    """Move buffered inbound messages from Redis into the database now."""
    count = message_log.flush(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"flushed {count} message(s)")


def init_app(app: Flask) -> None:
    app.cli.add_command(messages_cli)
