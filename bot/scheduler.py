"""The scheduler process: `flask --app bot scheduler run` (the Procfile's `scheduler`).

Several instances may run (one per host, or a standby); the Redis leader lock (`bot/leader.py`) lets one
of them run jobs. On election the leader starts APScheduler on the persistent job store (the
`scheduler_job` table in the app database), reconciles it with `bot.jobs.JOBS` and resumes; on losing the
lock it shuts APScheduler down at once. Runs missed while no leader was up are coalesced into one run if
they are less than SCHEDULER_MISFIRE_GRACE_SECONDS late.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType

import click
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask, current_app
from flask.cli import AppGroup

from bot import jobs
from bot.extensions import db, get_redis
from bot.leader import LeaderElector, LeaderLock
from bot.settings import Settings
from services.models_reminders import SCHEDULER_JOB_TABLE

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Reconciled:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def reconcile(
    scheduler: BackgroundScheduler, definitions: Sequence[jobs.JobDef], settings: Settings
) -> Reconciled:
    """Make the job store hold exactly `definitions`. A job whose trigger is unchanged keeps its next run
    time (a restart does not push an hourly job back by an hour)."""
    report = Reconciled()
    stored = {job.id: job for job in scheduler.get_jobs()}
    for definition in definitions:
        trigger = definition.trigger(settings)
        job = stored.pop(definition.id, None)
        same = (
            job is not None
            and job.func_ref == jobs.RUN_REF
            and list(job.args) == [definition.id]
            and str(job.trigger) == str(trigger)
        )
        if same:
            report.kept.append(definition.id)
            continue
        scheduler.add_job(
            jobs.RUN_REF,
            trigger=trigger,
            id=definition.id,
            name=definition.description,
            args=[definition.id],
            replace_existing=True,
        )
        (report.replaced if job is not None else report.added).append(definition.id)
    for job_id in stored:
        scheduler.remove_job(job_id)
        report.removed.append(job_id)
    return report


class SchedulerService:
    """One scheduler instance: elects, runs APScheduler while leading, stops it when not."""

    def __init__(
        self, app: Flask, definitions: Sequence[jobs.JobDef] = jobs.JOBS, owner: str | None = None
    ) -> None:
        self.app = app
        self.settings: Settings = app.config["SETTINGS"]
        self.definitions = tuple(definitions)
        rx = get_redis(app)
        assert rx.client is not None
        self.lock = LeaderLock(
            rx.client, rx.key("scheduler", "leader"), self.settings.SCHEDULER_LOCK_TTL_SECONDS, owner
        )
        self.elector = LeaderElector(
            self.lock, self.settings.SCHEDULER_LOCK_RENEW_SECONDS, self._elected, self._demoted
        )
        self.scheduler: BackgroundScheduler | None = None
        self.reconciled: Reconciled | None = None
        self._guard = threading.Lock()

    def build(self) -> BackgroundScheduler:
        with self.app.app_context():
            engine = db.engine
        store = SQLAlchemyJobStore(engine=engine, tablename=SCHEDULER_JOB_TABLE)
        return BackgroundScheduler(
            jobstores={"default": store},
            executors={"default": ThreadPoolExecutor(self.settings.SCHEDULER_THREADS)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": self.settings.SCHEDULER_MISFIRE_GRACE_SECONDS,
            },
            timezone=self.settings.SCHEDULER_TIMEZONE,
        )

    def _elected(self, fence: int) -> None:
        with self._guard:
            jobs.bind(self.app, self.elector.still_leader, self.definitions)
            scheduler = self.build()
            scheduler.start(paused=True)
            try:
                self.reconciled = reconcile(scheduler, self.definitions, self.settings)
            except Exception:
                scheduler.shutdown(wait=False)
                jobs.unbind()
                raise
            log.info("scheduler: job store reconciled %s", self.reconciled)
            scheduler.resume()
            self.scheduler = scheduler

    def _demoted(self) -> None:
        with self._guard:
            jobs.unbind()
            scheduler, self.scheduler = self.scheduler, None
            if scheduler is not None:
                scheduler.shutdown(wait=False)

    @property
    def is_leader(self) -> bool:
        return self.elector.is_leader

    def start(self) -> SchedulerService:
        self.elector.start()
        return self

    def stop(self) -> None:
        self.elector.stop(release=True)

    def run_forever(self) -> None:
        """Until SIGTERM or SIGINT; the lock is released on the way out so a standby takes over at once."""
        done = threading.Event()

        def finish(signum: int, frame: FrameType | None) -> None:
            done.set()

        signal.signal(signal.SIGTERM, finish)
        signal.signal(signal.SIGINT, finish)
        self.start()
        log.info(
            "scheduler %s started (%d jobs; lock ttl %.0f s)",
            self.lock.owner,
            len(self.definitions),
            self.settings.SCHEDULER_LOCK_TTL_SECONDS,
        )
        done.wait()
        self.stop()
        log.info("scheduler %s stopped", self.lock.owner)


scheduler_cli = AppGroup("scheduler", help="Reminders, expiries, token refresh, purges and digests.")


@scheduler_cli.command("run")
def run_command() -> None:
    """Run the scheduler (one leader among all instances; the others stand by)."""
    SchedulerService(current_app._get_current_object()).run_forever()  # type: ignore[attr-defined]


@scheduler_cli.command("jobs")
def jobs_command() -> None:
    """List the job definitions and, when they ran, their last outcome."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    for definition in jobs.JOBS:
        trigger = definition.trigger(app.config["SETTINGS"])
        last = jobs.last_run(app, definition.id)
        click.echo(f"{definition.id}\t{trigger}\t{definition.description}\t{last or '-'}")


def init_app(app: Flask) -> None:
    app.cli.add_command(scheduler_cli)
