"""`flask --app bot …` commands beyond Flask-Migrate's `db` group."""

from __future__ import annotations

import csv
import json
import sys
import time
from collections import Counter
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from bot import content, message_log
from bot.content_lint import lint
from bot.dialogue import classifier, crisis
from bot.dialogue.intents import INTENTS
from bot.dialogue.normalise import normalise
from bot.dialogue.router import model_crisis
from bot.wechat.errors import WeChatAPIError

messages_cli = AppGroup("messages", help="The inbound message log.")
intents_cli = AppGroup("intents", help="Intent classification.")
content_cli = AppGroup("content", help="Content staff edit in content/.")
menu_cli = AppGroup("menu", help="The Official Account menu.")


@messages_cli.command("flush")
def flush_command() -> None:
    """Move buffered inbound messages from Redis into the database now."""
    count = message_log.flush(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"flushed {count} message(s)")


def classify_text(text: str) -> str:
    """The intent the bot acts on for this text: crisis rules first, then keywords and the model."""
    norm = normalise(text)
    screening = crisis.screen(norm)
    if screening.signal is not None:
        return "crisis"
    understood = classifier.understand(norm)
    if model_crisis(understood, screening, current_app.config["SETTINGS"].CRISIS_MODEL_THRESHOLD) is not None:
        return "crisis"
    if understood.intent == "crisis":
        return understood.candidates[1][0] if len(understood.candidates) > 1 else "fallback"
    return understood.intent


@intents_cli.command("classify")
@click.argument("text", required=False)
def classify_command(text: str | None) -> None:
    """Print `intent<TAB>text` for TEXT, or for each line of standard input."""
    lines = [text] if text is not None else (line.rstrip("\n") for line in sys.stdin)
    for line in lines:
        if line.strip():
            click.echo(f"{classify_text(line)}\t{line}")


@intents_cli.command("eval")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def eval_command(path: Path) -> None:
    """Score the classifier on a CSV with `text,intent` columns."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"text", "intent"} <= set(reader.fieldnames):
            raise click.UsageError(f"{path} needs a header with text and intent columns")
        rows = [(r["text"], r["intent"].strip()) for r in reader if r.get("text")]
    unknown = sorted({label for _, label in rows if label not in INTENTS})
    if unknown:
        raise click.UsageError(f"{path} has unknown intents: {', '.join(unknown)}")
    classifier.model()  # train before timing
    started = time.perf_counter()
    predicted = [classify_text(text) for text, _ in rows]
    per_message_us = (time.perf_counter() - started) / max(len(rows), 1) * 1e6

    pairs = list(zip((label for _, label in rows), predicted, strict=True))
    click.echo(f"{'intent':<12} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}")
    for intent in INTENTS:
        tp = sum(1 for gold, guess in pairs if gold == intent and guess == intent)
        support = sum(1 for gold, _ in pairs if gold == intent)
        guessed = sum(1 for _, guess in pairs if guess == intent)
        if not support and not guessed:
            continue
        precision = tp / guessed if guessed else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        click.echo(f"{intent:<12} {precision:>9.2f} {recall:>7.2f} {f1:>6.2f} {support:>8}")
    confused = Counter((gold, guess) for gold, guess in pairs if gold != guess)
    click.echo("")
    click.echo("confused (expected -> predicted: count):")
    for (gold, guess), n in confused.most_common():
        click.echo(f"  {gold} -> {guess}: {n}")
    click.echo(f"messages: {len(rows)}, {per_message_us:.0f} us per message")
    accuracy = sum(1 for gold, guess in pairs if gold == guess) / max(len(pairs), 1)
    click.echo(f"accuracy: {accuracy:.2f}")


@content_cli.command("lint")
def lint_command() -> None:
    """Validate everything in content/; exits non-zero when something is wrong."""
    problems = lint()
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.exceptions.Exit(1)
    click.echo("content ok")


def _menu_payload() -> dict:
    return {"button": content.menu()["button"]}


@menu_cli.command("show")
def menu_show_command() -> None:
    """Print the menu as WeChat's JSON, as `menu sync` would send it."""
    click.echo(json.dumps(_menu_payload(), ensure_ascii=False, indent=2))


@menu_cli.command("sync")
def menu_sync_command() -> None:
    """Push content/menu.toml to the Official Account (replaces the current menu)."""
    problems = [p for p in lint() if p.startswith("menu.toml")]
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        raise click.exceptions.Exit(1)
    client = current_app.extensions["wechat_client"]
    try:
        client.create_menu(_menu_payload())
    except WeChatAPIError as exc:
        click.echo(f"menu sync failed: {exc}", err=True)
        raise click.exceptions.Exit(1) from None
    click.echo("menu synced")


def init_app(app: Flask) -> None:
    for group in (messages_cli, intents_cli, content_cli, menu_cli):
        app.cli.add_command(group)
    from sandbox import cli as sandbox_cli  # the sandbox imports bot: register it late

    sandbox_cli.init_app(app)
