"""`flask --app bot console create-admin USERNAME` and `console create-staff USERNAME --role …`."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from bot.extensions import db
from services.errors import DomainError
from services.models_staff import ROLES
from services.staff import create_staff, set_password

console_cli = AppGroup("console", help="Staff console accounts.")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _create(username: str, roles: list[str], from_stdin: bool, display_name: str | None) -> None:
    try:
        staff = create_staff(
            db.session, username, _password(from_stdin), roles, actor="cli", display_name=display_name
        )
    except DomainError as exc:
        details = "; ".join(f"{k}: {v}" for k, v in (exc.fields or {}).items())
        raise click.ClickException(f"{exc.message} {details}".strip()) from None
    click.echo(f"created {staff.username} ({staff.roles})")


_stdin = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
_name = click.option("--name", "display_name", help="Name shown in the console.")


@console_cli.command("create-admin")
@click.argument("username")
@_stdin
@_name
def create_admin_command(username: str, password_stdin: bool, display_name: str | None) -> None:
    """Create an admin account (the first one has to come from here)."""
    _create(username, ["admin"], password_stdin, display_name)


@console_cli.command("create-staff")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES), help="Repeatable.")
@_stdin
@_name
def create_staff_command(
    username: str, roles: tuple[str, ...], password_stdin: bool, display_name: str | None
) -> None:
    """Create a staff account with one or more roles."""
    _create(username, list(roles), password_stdin, display_name)


@console_cli.command("set-password")
@click.argument("username")
@_stdin
def set_password_command(username: str, password_stdin: bool) -> None:
    """Set a staff member's password (ends their sessions and any lockout)."""
    try:
        set_password(db.session, "cli", username, _password(password_stdin))
    except DomainError as exc:
        details = "; ".join(f"{k}: {v}" for k, v in (exc.fields or {}).items())
        raise click.ClickException(f"{exc.message} {details}".strip()) from None
    click.echo(f"password set for {username}")


def init_app(app: Flask) -> None:
    app.cli.add_command(console_cli)
