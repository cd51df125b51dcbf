"""Writing what happened to each outbox row, and the per-thread connections those writes go through.

Each outcome is one UPDATE committed on its own, guarded by the lease (`lease_owner = me AND status =
'sending'`): a worker that overran its lease cannot overwrite a row another worker has taken over.
On PostgreSQL these statements run with `synchronous_commit = off`: the commit returns before its WAL is
flushed to disk, which takes the disk's fsync out of every send. A killed worker loses nothing by it (the
server has the commit); only a crash of PostgreSQL itself could forget the "sent" marks of its last
~0.6 s (3 × wal_writer_delay), whose rows would be sent again once their lease runs out.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Connection, DateTime, Engine, bindparam, text, update

from services.delivery_channels import Outcome, Recipient
from services.models_delivery import Outbox, SubscriptionCredit

MAX_BACKOFF_SECONDS = 3600.0


class Connections:
    """One connection per sending thread for a batch: no pool checkout (and pre-ping) per row."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.local = threading.local()
        self.opened: list[Connection] = []
        self.lock = threading.Lock()
        self.postgres = engine.dialect.name == "postgresql"

    def mine(self) -> Connection:
        conn: Connection | None = getattr(self.local, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            # Autocommit: an outcome is one UPDATE, one round trip (no BEGIN, no separate COMMIT).
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if self.postgres:
                conn.exec_driver_sql("SET synchronous_commit = off")
            self.local.conn = conn
            with self.lock:
                self.opened.append(conn)
        return conn

    def close(self) -> None:
        with self.lock:
            opened, self.opened = self.opened, []
        for conn in opened:
            try:
                if self.postgres and not conn.closed and not conn.invalidated:
                    conn.exec_driver_sql("RESET synchronous_commit")  # the pool hands it to others next
            finally:
                conn.close()


def _now() -> datetime:
    return datetime.now(UTC)


# Written once per send: plain statements compiled once, instead of building an UPDATE per row.
_GUARD = " WHERE id = :id AND lease_owner = :worker AND status = 'sending'"
_RELEASE = "lease_owner = NULL, leased_until = NULL"
_SENT = text(
    "UPDATE outbox SET status = 'sent', channel = :channel, wechat_msgid = :msgid, payload = :payload, "
    f"sent_at = :now, error_code = NULL, reason = NULL, {_RELEASE}" + _GUARD
).bindparams(bindparam("payload", type_=JSON), bindparam("now", type_=DateTime(timezone=True)))
_FINAL = text(
    "UPDATE outbox SET status = :status, channel = :channel, error_code = :code, reason = :reason, "
    f"payload = :payload, {_RELEASE}" + _GUARD
).bindparams(bindparam("payload", type_=JSON))
_REQUEUE = text(
    "UPDATE outbox SET status = 'pending', next_attempt_at = :at, attempts = attempts + :delta, "
    f"error_code = :code, reason = :reason, {_RELEASE}" + _GUARD
).bindparams(bindparam("at", type_=DateTime(timezone=True)))


def record(conn: Connection, worker_id: str, who: Recipient, outcome: Outcome, ws: Any) -> None:
    """Write one row's outcome, then its credit change, each statement committed on its own.

    The row comes first: a crash between the two leaves the ledger one credit too high, which the next send
    corrects (WeChat answers 43101 and the credit is cleared); the other order could lose the row's mark.
    """
    try:
        _write(conn, worker_id, who, outcome, ws)
        conn.commit()  # a no-op under autocommit; ends the transaction of a caller's plain connection
    except BaseException:
        conn.rollback()
        raise


def _write(conn: Connection, worker_id: str, who: Recipient, outcome: Outcome, ws: Any) -> None:
    guard = {"id": who.row_id, "worker": worker_id}
    verdict = outcome.verdict
    if verdict == "retry" and who.attempts >= ws.max_attempts:
        verdict = "failed"
    if verdict == "sent":
        conn.execute(
            _SENT,
            {
                **guard,
                "channel": outcome.channel,
                "msgid": outcome.msgid,
                "payload": outcome.payload,
                "now": _now(),
            },
        )
        if outcome.spent is not None:
            openid, template_id = outcome.spent
            conn.execute(
                update(SubscriptionCredit)
                .where(
                    SubscriptionCredit.openid == openid,
                    SubscriptionCredit.template_id == template_id,
                    SubscriptionCredit.credits > 0,
                )
                .values(credits=SubscriptionCredit.credits - 1, last_event="send", last_status="spent")
            )
    elif verdict in ("failed", "skipped"):
        conn.execute(
            _FINAL,
            {
                **guard,
                "status": verdict,
                "channel": outcome.channel or "none",
                "code": outcome.error_code,
                "reason": outcome.reason,
                "payload": outcome.payload,
            },
        )
    else:
        # Not this person's fault: back to the queue. Waits for a limit or quota are not attempts.
        if verdict == "retry":
            delay, delta = min(ws.backoff * 2 ** max(who.attempts - 1, 0), MAX_BACKOFF_SECONDS), 0
        else:
            delay, delta = outcome.retry_after or ws.poll, -1
        at = _now() + timedelta(seconds=delay)
        conn.execute(
            _REQUEUE,
            {**guard, "at": at, "delta": delta, "code": outcome.error_code, "reason": outcome.reason},
        )
    for openid, template_id in outcome.cleared:  # 43101: WeChat says the credit is gone
        conn.execute(
            update(SubscriptionCredit)
            .where(SubscriptionCredit.openid == openid, SubscriptionCredit.template_id == template_id)
            .values(credits=0, last_event="send", last_status="refused")
        )


def defer_notice(conn: Connection, notice_id: int, until: datetime) -> None:
    """The quota is used up: the notice's other waiting rows wait for it too."""
    try:
        conn.execute(
            update(Outbox)
            .where(Outbox.notice_id == notice_id, Outbox.status == "pending", Outbox.next_attempt_at < until)
            .values(next_attempt_at=until)
        )
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
