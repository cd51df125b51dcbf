"""The one `console` blueprint every screen adds its routes to, and the navigation registry."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, g

bp = Blueprint(
    "console", __name__, url_prefix="/console", template_folder="templates", static_folder="static"
)


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    endpoint: str
    roles: tuple[str, ...]
    order: int


NAV: list[NavItem] = []


def nav_item(label: str, endpoint: str, *roles: str, order: int = 50) -> None:
    """Show a link in the top navigation to staff holding one of `roles` (as `require_role` counts them)."""
    if any(item.endpoint == endpoint for item in NAV):
        return
    NAV.append(NavItem(label, endpoint, roles, order))
    NAV.sort(key=lambda item: (item.order, item.label))


def back_on_error(url: str) -> None:
    """Where a POST view goes when a service refuses (the message is flashed there); default: the referrer."""
    g.console_back = url
