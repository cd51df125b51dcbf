"""Durable record of inbound pushes. Inserts are idempotent on `dedup_key`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from services.models import MessageLog

TABLE = MessageLog.__table__

# Everything below is already stored in its own column.
_COLUMNS_IN_FIELDS = {
    "ToUserName",
    "FromUserName",
    "CreateTime",
    "MsgType",
    "MsgId",
    "Event",
    "EventKey",
    "Content",
}


def entry_for(message: Any) -> dict[str, Any]:
    """A JSON-ready log entry for an `InboundMessage`."""
    return {
        "dedup_key": message.dedup_key,
        "openid": message.from_user,
        "msg_type": message.msg_type,
        "event": message.event,
        "event_key": message.event_key,
        "msg_id": message.msg_id,
        "content": message.text if message.text is not None else message.content,
        "payload": {k: v for k, v in message.fields.items() if k not in _COLUMNS_IN_FIELDS},
        "created_at": message.create_time,
    }


def _row(entry: dict[str, Any]) -> dict[str, Any]:
    row = {
        k: entry.get(k)
        for k in ("dedup_key", "openid", "msg_type", "event", "event_key", "msg_id", "content")
    }
    row["openid"] = (row["openid"] or "")[:64]
    row["dedup_key"] = str(row["dedup_key"])[:200]
    row["event_key"] = row["event_key"][:200] if row["event_key"] else None
    row["payload"] = entry.get("payload") or {}
    row["created_at"] = datetime.fromtimestamp(int(entry.get("created_at") or 0), tz=UTC)
    return row


def _insert(session: Session) -> Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(TABLE).on_conflict_do_nothing(index_elements=["dedup_key"])
    if dialect == "sqlite":
        return sqlite.insert(TABLE).on_conflict_do_nothing(index_elements=["dedup_key"])
    raise RuntimeError(f"message log supports PostgreSQL and SQLite, not {dialect}")


def record_messages(session: Session, entries: Sequence[dict[str, Any]]) -> None:
    """Insert entries, skipping any already recorded. Caller commits.

    No RETURNING here: with it, a batch costs five times the CPU (each batch becomes one large statement
    the driver parses afresh), and the flusher only needs the rows stored.
    """
    if entries:
        rows = list({r["dedup_key"]: r for r in map(_row, entries)}.values())
        session.connection().execute(_insert(session), rows)


def record_one(session: Session, entry: dict[str, Any]) -> bool:
    """True when this entry is new: the database's unique key decides, not a read-then-write."""
    result = session.connection().execute(_insert(session).returning(TABLE.c.id), _row(entry))
    return result.first() is not None
