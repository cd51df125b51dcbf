"""A small multi-turn form engine: ask, validate, re-ask up to a limit, and a global cancel.

Forms are declared by handlers and registered by name; the state in Redis holds only the form name,
the current step, the answers so far and the miss count, so a form survives process restarts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.content import text as content_text
from bot.dialogue.context import Context
from bot.wechat.replies import Reply, Text

CANCEL_WORDS = frozenset({"取消", "退出", "不填了", "算了", "cancel", "quit", "exit", "q"})


class Invalid(ValueError):
    """An answer the field does not accept; the message is shown to the user before re-asking."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    prompt: str
    validate: Callable[[str], str] = str.strip


@dataclass(frozen=True, slots=True)
class Form:
    name: str
    fields: tuple[Field, ...]
    on_complete: Callable[[Context, dict[str, str]], Reply]
    intro: str = ""


_FORMS: dict[str, Form] = {}


def register_form(form: Form) -> Form:
    _FORMS[form.name] = form
    return form


def is_cancel(text: str) -> bool:
    return text.strip().lower() in CANCEL_WORDS


def active_form(ctx: Context) -> Form | None:
    current = ctx.state.get("form")
    if not isinstance(current, dict):
        return None
    return _FORMS.get(str(current.get("name")))


def _prompt(field: Field) -> str:
    return f"{field.prompt}\n（回复“取消”可随时退出）"


def start_form(ctx: Context, name: str) -> Reply:
    form = _FORMS[name]
    ctx.state.set("form", {"name": name, "step": 0, "data": {}, "misses": 0})
    first = _prompt(form.fields[0])
    return Text(f"{form.intro}\n{first}" if form.intro else first)


def cancel_form(ctx: Context) -> Reply:
    ctx.state.pop("form")
    return Text(content_text("form_cancelled"))


def continue_form(ctx: Context, form: Form) -> Reply:
    current = dict(ctx.state.get("form"))
    step = int(current.get("step", 0))
    if step >= len(form.fields):
        ctx.state.pop("form")
        return Text(content_text("form_abandoned"))
    field = form.fields[step]
    try:
        value = field.validate(ctx.text)
    except Invalid as exc:
        misses = int(current.get("misses", 0)) + 1
        if misses >= ctx.settings.FORM_MAX_ATTEMPTS:
            ctx.state.pop("form")
            return Text(content_text("form_abandoned"))
        ctx.state.set("form", {**current, "misses": misses})
        return Text(f"{exc}\n{_prompt(field)}")
    data = {**current.get("data", {}), field.name: value}
    if step + 1 < len(form.fields):
        ctx.state.set("form", {**current, "step": step + 1, "data": data, "misses": 0})
        return Text(_prompt(form.fields[step + 1]))
    ctx.state.pop("form")
    return form.on_complete(ctx, data)
