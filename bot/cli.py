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
traineeships_cli = AppGroup("traineeships", help="Traineeship posts: bulk import, application exports.")
activities_cli = AppGroup("activities", help="Activities: sign-up exports.")


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


@click.command("seed")
@click.option("--demo", is_flag=True, help="Load the sample data in content/seed/*.toml.")
@click.option("--reset", is_flag=True, help="Remove sample rows first.")
def seed_command(demo: bool, reset: bool) -> None:
    """Load demo data (marked as sample); running it twice does not duplicate anything."""
    from bot.extensions import db
    from services.seed import remove_samples, seed_demo

    if not demo:
        if not reset:
            raise click.UsageError("say what to seed: --demo (and/or --reset to remove sample rows)")
        removed = remove_samples(db.session)
        db.session.commit()
        click.echo(f"removed {removed} sample row(s)")
        return
    report = seed_demo(db.session, reset=reset)
    click.echo(
        f"sample data: {report.traineeships} traineeship(s), {report.activities} activit(ies), "
        f"{report.match_events} matchmaking event(s), {report.wishes} micro-wish(es) added"
        + (f", {report.removed} removed first" if reset else "")
    )


@traineeships_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--publish", is_flag=True, help="Open the imported posts at once (default: drafts).")
@click.option("--actor", default="staff:cli", show_default=True, help="Recorded in the status history.")
def traineeships_import_command(path: Path, publish: bool, actor: str) -> None:
    """Import posts from a .csv or .xlsx; valid rows are created, each bad row is reported by line."""
    from bot.extensions import db
    from services.errors import DomainError
    from services.traineeships import import_traineeships, read_rows

    try:
        rows = read_rows(path)
    except DomainError as exc:
        raise click.UsageError(f"{path}: {exc.message} {exc.fields or ''}") from None
    with click.progressbar(length=len(rows), label="importing", file=sys.stderr) as bar:
        report = import_traineeships(db.session, rows, actor, progress=bar.update, publish=publish)
    for error in report.errors:
        click.echo(str(error), err=True)
    click.echo(f"created {len(report.created)}, rejected {len(report.errors)} row(s)")
    if report.errors:
        raise click.exceptions.Exit(1)


def _export(kind: str, subject_id: int, fmt: str, out: Path | None) -> None:
    from bot.extensions import db
    from services.activities import export_signups
    from services.errors import DomainError
    from services.traineeships import export_applications

    fn = export_applications if kind == "traineeship" else export_signups
    try:
        data = fn(db.session, subject_id, fmt)
    except DomainError as exc:
        raise click.UsageError(exc.message) from None
    out = out or Path(f"{kind}-{subject_id}.{fmt}")
    out.write_bytes(data)
    click.echo(f"wrote {out} ({len(data)} bytes; contains full phone numbers: staff only)")


_formats = click.Choice(["xlsx", "csv"])


@traineeships_cli.command("export")
@click.argument("traineeship_id", type=int)
@click.option("--format", "fmt", type=_formats, default="xlsx", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
def traineeships_export_command(traineeship_id: int, fmt: str, output: Path | None) -> None:
    """Write a post's applications to a spreadsheet."""
    _export("traineeship", traineeship_id, fmt, output)


@activities_cli.command("export")
@click.argument("activity_id", type=int)
@click.option("--format", "fmt", type=_formats, default="xlsx", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
def activities_export_command(activity_id: int, fmt: str, output: Path | None) -> None:
    """Write an activity's sign-ups (confirmed, waitlist, cancelled) to a spreadsheet."""
    _export("activity", activity_id, fmt, output)


def init_app(app: Flask) -> None:
    for group in (messages_cli, intents_cli, content_cli, menu_cli, traineeships_cli, activities_cli):
        app.cli.add_command(group)
    app.cli.add_command(seed_command)
    from bot import delivery_cli

    delivery_cli.init_app(app)
    from sandbox import cli as sandbox_cli  # the sandbox imports bot: register it late

    sandbox_cli.init_app(app)
    from bot import scheduler  # imports the services the jobs call: register it late too

    scheduler.init_app(app)
