"""Content staff edit without a deploy (`content/`): loaded on first use, validated by `content lint`.

In development, edited files are picked up without a restart (checked at most once a second).
"""

from __future__ import annotations

import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.content_keys import PLACEHOLDERS

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"

REQUIRED_TEXTS = tuple(PLACEHOLDERS)


class ContentError(ValueError):
    pass


_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()
_watch = {"enabled": False, "checked": 0.0}
_on_reload: list[Callable[[], None]] = []


def watch_for_changes(enabled: bool = True) -> None:
    """Development: re-read files whose modification time changed (checked at most once a second)."""
    _watch["enabled"] = enabled


def on_reload(callback: Callable[[], None]) -> None:
    """Run `callback` whenever content is re-read, so derived data (compiled rules, models) is rebuilt."""
    _on_reload.append(callback)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ContentError(f"{path}: {exc}") from exc


def _check_for_changes() -> None:
    now = time.monotonic()
    if now - _watch["checked"] < 1.0:
        return
    _watch["checked"] = now
    changed = False
    for name, (mtime, _) in list(_cache.items()):
        try:
            if (CONTENT_DIR / name).stat().st_mtime != mtime:
                changed = True
        except OSError:
            changed = True
    if changed:
        reload()


def _load(name: str) -> dict[str, Any]:
    if _watch["enabled"]:
        _check_for_changes()
    cached = _cache.get(name)
    if cached is not None:
        return cached[1]
    with _lock:
        path = CONTENT_DIR / name
        data = _read(path)
        _cache[name] = (path.stat().st_mtime, data)
        return data


def replies() -> dict[str, str]:
    data = _load("replies.toml")
    missing = [key for key in REQUIRED_TEXTS if not isinstance(data.get(key), str) or not data[key].strip()]
    if missing:
        raise ContentError("content/replies.toml lacks texts: " + ", ".join(missing))
    return data


def text(key: str, **values: object) -> str:
    template = replies()[key]
    return template.format(**values) if values else template


def intents() -> dict[str, Any]:
    return _load("intents.toml")


def intent_examples() -> dict[str, Any]:
    return _load("intent_examples.toml")


def help_directory() -> dict[str, Any]:
    return _load("help_directory.toml")


def crisis() -> dict[str, Any]:
    return _load("crisis.toml")


def faq() -> dict[str, Any]:
    return _load("faq.toml")


def menu() -> dict[str, Any]:
    return _load("menu.toml")


def safety() -> dict[str, Any]:
    return _load("safety.toml")


def reload() -> None:
    with _lock:
        _cache.clear()
    for callback in _on_reload:
        callback()
