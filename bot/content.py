"""Content staff edit without a deploy (`content/`), loaded once on first use and validated."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"

REQUIRED_TEXTS = (
    "welcome",
    "greeting",
    "fallback",
    "apology",
    "unsupported_media",
    "form_cancelled",
    "form_abandoned",
    "nothing_to_cancel",
)


class ContentError(ValueError):
    pass


@cache
def _load(name: str) -> dict[str, Any]:
    path = CONTENT_DIR / name
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ContentError(f"{path}: {exc}") from exc


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


def reload() -> None:
    _load.cache_clear()
