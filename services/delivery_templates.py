"""Message templates (content/templates.toml): which WeChat template carries a notice, and its field values.

Values are shortened to fit WeChat's rules where that keeps their meaning (text kinds such as `thing`) and
then checked with the same rules the sandbox and WeChat apply (`bot/wechat/values.py`): a value that still
does not fit makes that channel unusable for the notice, instead of a certain 47003 from WeChat.
"""

from __future__ import annotations

import string
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bot import content
from bot.wechat import values as rules

Channel = Literal["subscription", "template"]
PATH_NAME = "templates.toml"
BUILT_IN = ("title", "body", "created")

# Text kinds and their length limits: these are cut to fit (keeping a trailing "…" where there is room).
_CUT: dict[str, int] = {"thing": 20, "short_thing": 5, "character_string": 32, "letter": 32, "phrase": 5}
_ELLIPSIS_KINDS = frozenset({"thing"})


@dataclass(frozen=True, slots=True)
class Template:
    key: str
    subscription: str | None = None
    subscription_fields: dict[str, str] = field(default_factory=dict)
    template: str | None = None
    template_fields: dict[str, str] = field(default_factory=dict)
    page: str | None = None
    kinds: tuple[str, ...] = ()
    defaults: dict[str, str] = field(default_factory=dict)

    def template_id(self, channel: Channel) -> str | None:
        return self.subscription if channel == "subscription" else self.template

    def fields(self, channel: Channel) -> dict[str, str]:
        return self.subscription_fields if channel == "subscription" else self.template_fields


_cache: dict[str, Any] = {"mtime": None, "templates": {}}
_lock = threading.Lock()


def _path() -> Path:
    return content.CONTENT_DIR / PATH_NAME  # looked up per call: tests point it at a scratch copy


def _parse(data: dict[str, Any]) -> dict[str, Template]:
    found: dict[str, Template] = {}
    for key, raw in data.items():
        if not isinstance(raw, dict):
            continue
        found[key] = Template(
            key=key,
            subscription=raw.get("subscription") or None,
            subscription_fields={str(k): str(v) for k, v in (raw.get("subscription_fields") or {}).items()},
            template=raw.get("template") or None,
            template_fields={str(k): str(v) for k, v in (raw.get("template_fields") or {}).items()},
            page=raw.get("page") or None,
            kinds=tuple(str(k) for k in raw.get("kinds") or ()),
            defaults={str(k): str(v) for k, v in (raw.get("defaults") or {}).items()},
        )
    return found


def templates() -> dict[str, Template]:
    """All templates, re-read when the file changes (staff edit it without a deploy)."""
    path = _path()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}
    if _cache["mtime"] != mtime:
        with _lock:
            with path.open("rb") as fh:
                _cache["templates"] = _parse(tomllib.load(fh))
            _cache["mtime"] = mtime
    result: dict[str, Template] = _cache["templates"]
    return result


def get(key: str) -> Template | None:
    return templates().get(key)


def for_kind(kind: str) -> str | None:
    """The template key configured for a notice kind (`kinds = [...]`), if any."""
    return next((t.key for t in templates().values() if kind in t.kinds), None)


def fit(kind: str, value: str) -> str:
    """Shorten and clean a value so that a text kind meets WeChat's rule; other kinds are left as they are."""
    value = " ".join(value.split())  # line breaks and tabs are refused outright
    if kind == "phrase":
        value = "".join(ch for ch in value if rules.is_cjk(ch))
    limit = _CUT.get(kind)
    if limit is not None and len(value) > limit:
        value = value[: limit - 1] + "…" if kind in _ELLIPSIS_KINDS else value[:limit]
    return value


class _Missing(KeyError):
    pass


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise _Missing(key)


def render(
    template: Template, channel: Channel, values: Mapping[str, str]
) -> tuple[dict[str, str], str | None]:
    """(data, None) ready to send, or ({}, problem) when the channel cannot carry this notice."""
    fields = template.fields(channel)
    if template.template_id(channel) is None or not fields:
        return {}, f"no {channel} template"
    source = _Values({**template.defaults, **{k: str(v) for k, v in values.items()}})
    data: dict[str, str] = {}
    for name, pattern in fields.items():
        try:
            text = pattern.format_map(source)
        except _Missing as exc:
            return {}, f"value {exc.args[0]} missing for {name}"
        except (ValueError, IndexError) as exc:
            return {}, f"field {name} pattern broken: {exc}"
        data[name] = fit(rules.kind_of(name), text)
    problem = rules.check_data({}, data, required=False)
    return (data, None) if problem is None else ({}, problem)


def lint(path: Path | None = None) -> list[str]:
    """Problems in content/templates.toml (or `path`), as `content lint` reports them."""
    path = path or _path()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return [f"{PATH_NAME}: {exc}"]
    problems: list[str] = []
    kinds_seen: dict[str, str] = {}
    for key, template in _parse(data).items():
        label = f"{PATH_NAME}: [{key}]"
        if not template.subscription and not template.template:
            problems.append(f"{label} names neither a subscription nor a template id")
        for channel in ("subscription", "template"):
            problems.extend(_lint_channel(label, template, channel))  # type: ignore[arg-type]
        for kind in template.kinds:
            if kind in kinds_seen:
                problems.append(f"{label} kind {kind} is already served by [{kinds_seen[kind]}]")
            kinds_seen[kind] = key
    return problems


def _lint_channel(label: str, template: Template, channel: Channel) -> list[str]:
    problems: list[str] = []
    template_id, fields = template.template_id(channel), template.fields(channel)
    if template_id and not fields:
        problems.append(f"{label} has a {channel} id but no {channel}_fields")
    if fields and not template_id:
        problems.append(f"{label} has {channel}_fields but no {channel} id")
    for name, pattern in fields.items():
        kind = rules.kind_of(name)
        if kind not in rules.RULES:
            problems.append(f"{label} {channel} field {name}: unknown type {kind!r}")
        try:
            names = [part[1] for part in string.Formatter().parse(pattern) if part[1] is not None]
        except ValueError as exc:
            problems.append(f"{label} {channel} field {name}: pattern broken ({exc})")
            continue
        if any(not n.isidentifier() for n in names):
            problems.append(f"{label} {channel} field {name}: placeholders must be plain names")
        if not names and (reason := rules.check(kind, pattern)):
            problems.append(f"{label} {channel} field {name}: fixed text {reason}")
    return problems
