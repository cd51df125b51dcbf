"""A small multi-turn form engine: ask, validate, re-ask up to a limit, and a global cancel.

Forms are declared by handlers and registered by name; the state in Redis holds only the form name,
the current step, the answers so far and the miss count, so a form survives process restarts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.content import text as content_text
from bot.dialogue.context import Call, Context, Step
from bot.wechat.replies import Reply, Text

CANCEL_WORDS = frozenset({"取消", "退出", "不填了", "算了", "cancel", "quit", "exit", "q"})


class Invalid(ValueError):
    """An answer the field does not accept; the message is shown to the user before re-asking."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    prompt: str | Callable[[], str]  # a callable is read when asked, so edited content applies at once
    validate: Callable[[str], str] = str.strip
    # Ask this field only when the answers so far call for it (e.g. guardian consent for under-14s).
    when: Callable[[dict[str, str]], bool] | None = None


@dataclass(frozen=True, slots=True)
class Form:
    name: str
    fields: tuple[Field, ...]
    on_complete: Callable[[Context, dict[str, str]], Reply]
    intro: str | Callable[[], str] = ""


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


def _resolve(value: str | Callable[[], str]) -> str:
    return value() if callable(value) else value


def _prompt(field: Field) -> str:
    return f"{_resolve(field.prompt)}\n（回复“取消”可随时退出）"


def _next_step(form: Form, start: int, data: dict[str, str]) -> int:
    step = start
    while step < len(form.fields) and form.fields[step].when and not form.fields[step].when(data):
        step += 1
    return step


def start_form(ctx: Context, name: str, data: dict[str, str] | None = None) -> Reply:
    form = _FORMS[name]
    data = dict(data or {})
    step = _next_step(form, 0, data)
    ctx.state.set("form", {"name": name, "step": step, "data": data, "misses": 0})
    first = _prompt(form.fields[step])
    intro = _resolve(form.intro)
    return Text(f"{intro}\n{first}" if intro else first)


def cancel_form(ctx: Context) -> Reply:
    ctx.state.pop("form")
    return Text(content_text("form_cancelled"))


def continue_form(ctx: Context, form: Form) -> Step:
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
    following = _next_step(form, step + 1, data)
    if following < len(form.fields):
        ctx.state.set("form", {**current, "step": following, "data": data, "misses": 0})
        return Text(_prompt(form.fields[following]))
    ctx.state.pop("form")
    # Completing a form usually stores something: run it where waiting is allowed.
    return Call(lambda: form.on_complete(ctx, data))
