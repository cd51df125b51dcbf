"""`flask --app bot delivery …`: the delivery worker and a notice's progress."""

from __future__ import annotations

import signal
import threading
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from bot.extensions import db
from services import delivery
from services.delivery_worker import drain_once, new_worker_id, run_worker
from services.errors import DomainError

delivery_cli = AppGroup("delivery", help="The outbox: the delivery worker, notice progress.")


@delivery_cli.command("work")
@click.option(
    "--batch", type=click.IntRange(1, 1000), default=None, help="rows per claim (DELIVERY_BATCH_SIZE)"
)
@click.option("--once", is_flag=True, help="drain what is due now, then exit")
@click.option("--worker-id", default=None, help="name in lease_owner (default host:pid:random)")
def work_command(batch: int | None, once: bool, worker_id: str | None) -> None:
    """Send due outbox rows until stopped (SIGTERM/SIGINT finish the current batch first)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    worker_id = worker_id or new_worker_id()
    if once:
        total = 0
        while handled := drain_once(app, worker_id, batch):
            total += handled
        click.echo(f"handled {total} row(s)")
        return
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"delivery worker {worker_id} running")
    run_worker(app, stop, worker_id, batch)


@delivery_cli.command("progress")
@click.argument("notice_id", type=int)
def progress_command(notice_id: int) -> None:
    """Print a notice's counts: pending, sending, sent, failed by code, skipped by reason."""
    try:
        p = delivery.notice_progress(db.session, notice_id)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"notice {p.notice_id} ({p.status}): total {p.total}, pending {p.pending}, "
        f"sending {p.sending}, sent {p.sent}"
    )
    for title, counts in (
        ("sent by channel", p.sent_by_channel),
        ("failed", p.failed),
        ("skipped", p.skipped),
    ):
        for key, n in sorted(counts.items()):
            click.echo(f"  {title}: {key} = {n}")


def init_app(app: Any) -> None:
    app.cli.add_command(delivery_cli)
