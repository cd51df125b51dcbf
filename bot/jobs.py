"""Every scheduled job, defined in one place (`JOBS`), with a stable id.

On election the scheduler reconciles its persistent job store with this list (`bot/scheduler.py`): new
definitions are added, changed triggers replaced, and stored jobs whose definition was removed here are
deleted. The store only ever holds `run_job(<id>)`, so renaming a function never strands a pickled job.
Job bodies are thin: the rules live in `services/`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from redis.exceptions import RedisError

from bot import content
from bot.extensions import db, get_redis
from bot.settings import Settings
from services import housekeeping, reminder_jobs
from services.eligibility import BEIJING, utcnow

log = logging.getLogger(__name__)

RUN_REF = "bot.jobs:run_job"
LAST_RUN = "scheduler:last"


@dataclass(frozen=True, slots=True)
class JobDef:
    id: str
    description: str
    trigger: Callable[[Settings], BaseTrigger]
    run: Callable[[Flask, datetime], object]  # (app, now) -> a short summary for the log


def every(setting: str) -> Callable[[Settings], BaseTrigger]:
    return lambda s: IntervalTrigger(seconds=int(getattr(s, setting)))


def daily_at(setting: str) -> Callable[[Settings], BaseTrigger]:
    def trigger(s: Settings) -> BaseTrigger:
        hour, minute = str(getattr(s, setting)).split(":")
        return CronTrigger(hour=int(hour), minute=int(minute), timezone=s.SCHEDULER_TIMEZONE)

    return trigger


def _settings(app: Flask) -> Settings:
    settings: Settings = app.config["SETTINGS"]
    return settings


# -- job bodies ------------------------------------------------------------------------------------------
def activity_reminders(app: Flask, now: datetime) -> int:
    return reminder_jobs.send_activity_reminders(db.session, now, _settings(app).REMINDER_LEAD_HOURS)


def waitlist_deadlines(app: Flask, now: datetime) -> int:
    hours = _settings(app).WAITLIST_CLOSE_HOURS
    return reminder_jobs.close_waitlists(db.session, now, timedelta(hours=hours))


def status_notices(app: Flask, now: datetime) -> int:
    s = _settings(app)
    settled = now - timedelta(seconds=s.STATUS_NOTICE_SETTLE_SECONDS)
    return housekeeping.forward_undelivered(
        db.session, settled, timedelta(hours=s.STATUS_NOTICE_MAX_AGE_HOURS)
    )


def wish_claim_expiry(app: Flask, now: datetime) -> int:
    from services import wish_claims  # the micro-wishes service owns the rule (WISH_CLAIM_EXPIRY_DAYS)

    return int(wish_claims.expire_claims(db.session, now))


def token_refresh(app: Flask, now: datetime) -> dict[str, bool]:
    """Refresh each app's access_token ahead of expiry, so that no request has to wait for a fetch."""
    refreshed: dict[str, bool] = {}
    for name in ("wechat_client", "miniprogram_client"):
        client = app.extensions.get(name)
        if client is not None:
            refreshed[name] = client.tokens.refresh_if_due()
    return refreshed


def retention_purge(app: Flask, now: datetime) -> dict[str, int]:
    s = _settings(app)
    return {
        "message_log": housekeeping.purge_message_log(
            db.session, now - timedelta(days=s.MESSAGE_LOG_RETENTION_DAYS)
        ),
        "outbox_payloads": housekeeping.purge_outbox_payloads(
            db.session, now - timedelta(days=s.OUTBOX_PAYLOAD_RETENTION_DAYS)
        ),
    }


def staff_digest(app: Flask, now: datetime) -> int:
    """The open help cases, once a day, to staff on duty (customer-service messages, as staff alerts go)."""
    s = _settings(app)
    digest = housekeeping.open_case_digest(db.session, now)
    if digest is None or not s.STAFF_ALERT_OPENIDS:
        return 0
    rx = get_redis(app)
    assert rx.client is not None
    day = now.astimezone(BEIJING).date().isoformat()
    # A leader that took over after a send must not send the day's digest again.
    if not rx.client.set(rx.key("scheduler", "digest", day), "1", nx=True, ex=2 * 86400):
        return 0
    message = content.text(
        "staff_case_digest",
        total=digest.total,
        urgent=digest.urgent,
        crisis=digest.by_kind.get("crisis", 0),
        callback=digest.by_kind.get("callback", 0),
        human=digest.by_kind.get("human", 0),
        oldest_hours=digest.oldest_hours,
    )
    client = app.extensions["wechat_client"]
    sent = 0
    for openid in s.STAFF_ALERT_OPENIDS:
        result = client.send_text(openid, message)
        if result.ok:
            sent += 1
        else:
            log.warning("staff digest to %s not delivered: %s %s", openid, result.errcode, result.errmsg)
    return sent


JOBS: tuple[JobDef, ...] = (
    JobDef("activity_reminders", "活动开始前提醒", every("REMINDER_SCAN_SECONDS"), activity_reminders),
    JobDef("waitlist_deadlines", "候补截止告知", every("REMINDER_SCAN_SECONDS"), waitlist_deadlines),
    JobDef("status_notices", "补发未送达的状态通知", every("STATUS_NOTICE_SWEEP_SECONDS"), status_notices),
    JobDef("wish_claim_expiry", "微心愿认领到期", every("WISH_CLAIM_SWEEP_SECONDS"), wish_claim_expiry),
    JobDef("token_refresh", "提前刷新 access_token", every("TOKEN_REFRESH_CHECK_SECONDS"), token_refresh),
    JobDef("retention_purge", "清理过期数据", daily_at("RETENTION_PURGE_AT"), retention_purge),
    JobDef("staff_digest", "每日未结求助个案汇总", daily_at("STAFF_DIGEST_AT"), staff_digest),
)


# -- running a stored job --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Binding:
    app: Flask
    guard: Callable[[], bool]
    jobs: dict[str, JobDef]


_bound: _Binding | None = None


def bind(app: Flask, guard: Callable[[], bool], jobs: tuple[JobDef, ...] = JOBS) -> None:
    """Called by the elected scheduler: stored jobs run against this app while `guard()` holds."""
    global _bound
    _bound = _Binding(app, guard, {job.id: job for job in jobs})


def unbind() -> None:
    global _bound
    _bound = None


def run_job(job_id: str) -> None:
    """What the job store calls. Runs only while this process leads; records the outcome in Redis."""
    bound = _bound
    if bound is None or not bound.guard():
        log.warning("job %s skipped: this scheduler is not the leader", job_id)
        return
    job = bound.jobs.get(job_id)
    if job is None:
        log.warning("job %s has no definition any more; it is removed at the next election", job_id)
        return
    started = time.monotonic()
    outcome: dict[str, Any] = {"at": time.time(), "ok": True}
    with bound.app.app_context():
        try:
            outcome["result"] = job.run(bound.app, utcnow())
        except Exception as exc:
            log.exception("job %s failed", job_id)
            outcome.update(ok=False, error=f"{type(exc).__name__}: {exc}")
            db.session.rollback()
        finally:
            db.session.remove()
        outcome["seconds"] = round(time.monotonic() - started, 3)
        log.info("job %s: %s", job_id, outcome)
        _record(bound.app, job_id, outcome)


def _record(app: Flask, job_id: str, outcome: dict[str, Any]) -> None:
    rx = get_redis(app)
    try:
        assert rx.client is not None
        rx.client.set(rx.key(LAST_RUN, job_id), json.dumps(outcome, ensure_ascii=False, default=str))
    except RedisError as exc:
        log.warning("could not record the run of %s: %s", job_id, exc)


def last_run(app: Flask, job_id: str) -> dict[str, Any] | None:
    rx = get_redis(app)
    assert rx.client is not None
    raw = rx.client.get(rx.key(LAST_RUN, job_id))
    return None if raw is None else dict(json.loads(raw))
