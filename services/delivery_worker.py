"""The delivery worker: claim due outbox rows, send each through a channel that reaches the person, record.

Claiming is one statement: `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING`, so
workers on several hosts never take the same row (SQLite has no SKIP LOCKED: run one worker there). A claim
is a lease: rows of a worker that died return to the queue once `leased_until` has passed; a live worker
renews its lease while a slow batch is still running.

Each row's outcome is written in its own short transaction right after its send, guarded by the lease
(`WHERE lease_owner = me AND status = 'sending'`). So a worker killed with SIGKILL can have duplicated only
the sends that WeChat had accepted but whose row was not yet marked: at most `DELIVERY_CONCURRENCY` per
worker (the sends in flight), and none for template messages, which carry `client_msg_id` (WeChat delivers
a resend of the same id once).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from services import delivery_templates, subscriptions
from services.delivery_channels import NoticeInfo, Outcome, Recipient, Sender, notice_values, open_windows
from services.delivery_outcomes import Connections, defer_notice, record
from services.delivery_quiet import QuietHours
from services.models import User
from services.models_delivery import Notice, Outbox

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    batch: int
    lease: float
    concurrency: int
    poll: float
    max_attempts: int
    backoff: float
    quiet: QuietHours | None

    @classmethod
    def from_app(cls, app: Flask) -> WorkerSettings:
        s = app.config["SETTINGS"]
        sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
        return cls(
            batch=s.DELIVERY_BATCH_SIZE,
            lease=s.DELIVERY_LEASE_SECONDS,
            # SQLite has one writer: parallel outcome writes would only queue on its lock.
            concurrency=1 if sqlite else s.DELIVERY_CONCURRENCY,
            poll=s.DELIVERY_POLL_SECONDS,
            max_attempts=s.DELIVERY_MAX_ATTEMPTS,
            backoff=s.DELIVERY_BACKOFF_SECONDS,
            quiet=QuietHours.parse(s.QUIET_HOURS),
        )


def new_worker_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _now() -> datetime:
    return datetime.now(UTC)


# -- the queue -----------------------------------------------------------------------------------------------
def release_expired(engine: Engine, now: datetime) -> int:
    """Rows whose lease ran out (their worker died or hung) go back to the queue, due at once."""
    with engine.begin() as conn:
        result = conn.execute(
            update(Outbox)
            .where(Outbox.status == "sending", Outbox.leased_until < now)
            .values(status="pending", lease_owner=None, leased_until=None, next_attempt_at=now)
        )
    return int(result.rowcount)


def claim(
    engine: Engine, worker_id: str, batch: int, lease: float, now: datetime, urgent_only: bool = False
) -> list[tuple[int, int, int, int]]:
    """Take up to `batch` due rows: (row id, notice id, user id, attempts including this one)."""
    due = select(Outbox.id).where(Outbox.status == "pending", Outbox.next_attempt_at <= now)
    if urgent_only:
        due = due.where(Outbox.urgent.is_(True))
    due = due.order_by(Outbox.next_attempt_at).limit(batch).with_for_update(skip_locked=True)
    stmt = (
        update(Outbox)
        .where(Outbox.id.in_(due.scalar_subquery()))
        .values(
            status="sending",
            lease_owner=worker_id,
            leased_until=now + timedelta(seconds=lease),
            attempts=Outbox.attempts + 1,
        )
        .returning(Outbox.id, Outbox.notice_id, Outbox.user_id, Outbox.attempts)
    )
    with engine.begin() as conn:
        return [tuple(row) for row in conn.execute(stmt)]  # type: ignore[misc]


def renew(engine: Engine, worker_id: str, ids: list[int], lease: float) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(Outbox)
            .where(Outbox.id.in_(ids), Outbox.lease_owner == worker_id, Outbox.status == "sending")
            .values(leased_until=_now() + timedelta(seconds=lease))
        )


# -- context for a batch -------------------------------------------------------------------------------------
def _load(
    engine: Engine, claimed: list[tuple[int, int, int, int]], windows: Callable[[list[str]], set[str]]
) -> tuple[dict[int, NoticeInfo], list[Recipient]]:
    with Session(engine) as session:
        notices: dict[int, NoticeInfo] = {}
        for n in session.scalars(select(Notice).where(Notice.id.in_({c[1] for c in claimed}))):
            notices[n.id] = NoticeInfo(
                id=n.id,
                title=n.title,
                body=n.body,
                values=notice_values(n.title, n.body, n.values or {}, n.created_at),
                page=n.page,
                template=delivery_templates.get(n.template) if n.template else None,
                cancelled=n.status == "cancelled",
            )
        users = {
            uid: (openid, oa_openid)
            for uid, openid, oa_openid in session.execute(
                select(User.id, User.openid, User.oa_openid).where(User.id.in_({c[2] for c in claimed}))
            )
        }
        holders: dict[int, set[str]] = {}
        for notice in notices.values():
            tid = notice.template.subscription if notice.template else None
            if tid:
                ids = {o for c in claimed if c[1] == notice.id for o in users.get(c[2], (None, None)) if o}
                holders[notice.id] = subscriptions.holders(session, ids, tid)
    open_now = windows([oa for _, oa in users.values() if oa])
    recipients = []
    for row_id, notice_id, user_id, attempts in claimed:
        openid, oa_openid = users.get(user_id, (None, None))
        held = holders.get(notice_id, set())
        recipients.append(
            Recipient(
                row_id,
                notice_id,
                user_id,
                attempts,
                openid,
                oa_openid,
                mp_credit=bool(openid and openid in held),
                oa_credit=bool(oa_openid and oa_openid in held),
                window_open=oa_openid in open_now,
            )
        )
    return notices, recipients


# -- one batch -----------------------------------------------------------------------------------------------
class _Halt:
    """Set by a rate-limit or quota answer: rows not yet sent in this batch go back instead of sending."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.all_until: float | None = None
        self.notices: dict[int, float] = {}

    def check(self, notice_id: int) -> float | None:
        with self.lock:
            return self.all_until if self.all_until is not None else self.notices.get(notice_id)


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(size: int) -> ThreadPoolExecutor:
    with _pools_lock:
        pool = _pools.get(size)
        if pool is None:
            pool = _pools[size] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="delivery")
        return pool


def drain_once(app: Flask, worker_id: str, batch: int | None = None) -> int:
    """Claim one batch, send it, record every row; the number of rows handled (0: nothing was due)."""
    from bot.extensions import db

    ws = WorkerSettings.from_app(app)
    with app.app_context():
        engine = db.engine
    now = _now()
    release_expired(engine, now)
    quiet = ws.quiet is not None and ws.quiet.active(now)
    claimed = claim(engine, worker_id, batch or ws.batch, ws.lease, now, urgent_only=quiet)
    if not claimed:
        return 0
    oa = app.extensions["wechat_client"]
    notices, recipients = _load(engine, claimed, open_windows(oa.window))
    sender = Sender(oa, app.extensions["miniprogram_client"])
    halt = _Halt()
    connections = Connections(engine)

    def handle(who: Recipient) -> None:
        conn = connections.mine()
        notice = notices.get(who.notice_id)
        if notice is None or notice.cancelled:
            record(conn, worker_id, who, Outcome("skipped", reason="cancelled"), ws)
            return
        waiting = halt.check(who.notice_id)
        if waiting is not None:
            record(conn, worker_id, who, Outcome("rate_limited", retry_after=waiting), ws)
            return
        outcome = sender.send(who, notice)
        record(conn, worker_id, who, outcome, ws)
        if outcome.verdict == "rate_limited":
            with halt.lock:
                halt.all_until = outcome.retry_after
        elif outcome.verdict == "quota":
            with halt.lock:
                halt.notices[who.notice_id] = outcome.retry_after or 60.0
            defer_notice(conn, who.notice_id, _now() + timedelta(seconds=outcome.retry_after or 60.0))

    try:
        _run_all(handle, recipients, ws, lambda ids: renew(engine, worker_id, ids, ws.lease))
    finally:
        connections.close()
    return len(recipients)


def _run_all(
    handle: Callable[[Recipient], None],
    recipients: list[Recipient],
    ws: WorkerSettings,
    renew_lease: Callable[[list[int]], None],
) -> None:
    """Run `handle` over the batch, `concurrency` at a time, renewing the lease while it takes long."""
    if ws.concurrency == 1:
        renewed_at = _now()
        for index, who in enumerate(recipients):
            _safely(handle, who)
            if (_now() - renewed_at).total_seconds() > ws.lease / 3:
                renew_lease([r.row_id for r in recipients[index + 1 :]])
                renewed_at = _now()
        return
    pool = _pool(ws.concurrency)
    futures = {pool.submit(_safely, handle, who): who.row_id for who in recipients}
    pending = set(futures)
    renewed_at = _now()
    while pending:
        _, pending = wait(pending, timeout=ws.lease / 3, return_when=FIRST_COMPLETED)
        if pending and (_now() - renewed_at).total_seconds() > ws.lease / 3:
            renew_lease([futures[f] for f in pending])
            renewed_at = _now()


def _safely(handle: Callable[[Recipient], None], who: Recipient) -> None:
    """A database hiccup on one row must not end the batch; its lease runs out and it is sent later."""
    try:
        handle(who)
    except SQLAlchemyError as exc:
        log.error("outbox row %s: outcome not recorded (%s); it returns after its lease", who.row_id, exc)
    except Exception:
        log.exception("outbox row %s: unexpected failure; it returns after its lease", who.row_id)


def run_worker(
    app: Flask, stop_event: threading.Event, worker_id: str | None = None, batch: int | None = None
) -> None:
    """Drain until `stop_event` is set; sleeps `DELIVERY_POLL_SECONDS` when nothing is due."""
    worker_id = worker_id or new_worker_id()
    ws = WorkerSettings.from_app(app)
    log.info("delivery worker %s started", worker_id)
    while not stop_event.is_set():
        try:
            handled = drain_once(app, worker_id, batch)
        except SQLAlchemyError as exc:
            log.error("delivery worker %s: database unavailable (%s); retrying", worker_id, exc)
            handled = 0
        if not handled:
            stop_event.wait(ws.poll)
    log.info("delivery worker %s stopped", worker_id)
