"""Helpers the services share: pages with opaque keyset cursors, LIKE escaping, SQLite write retries."""

from __future__ import annotations

import base64
import functools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, ParamSpec, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from services import notices
from services.errors import Invalid
from services.models import StatusChange, User

T = TypeVar("T")
P = ParamSpec("P")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(at: datetime, row_id: int) -> str:
    raw = json.dumps([at.isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, row_id = json.loads(raw)
        return datetime.fromisoformat(at), int(row_id)
    except (ValueError, TypeError) as exc:
        raise Invalid("翻页参数无效，请从第一页重新查看。", fields={"cursor": "无效"}) from exc


def like_pattern(keyword: str) -> str:
    escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def actor_of(user: User) -> str:
    return f"user:{user.id}"


def record_change(
    session: Session,
    subject: str,
    subject_id: int,
    old: str | None,
    new: str,
    actor: str,
    reason: str | None = None,
) -> None:
    """Add a `StatusChange` to the caller's transaction (who moved what from which status to which)."""
    session.add(
        StatusChange(
            subject=subject, subject_id=subject_id, from_status=old, to_status=new, actor=actor, reason=reason
        )
    )


def retry_locked(fn: Callable[P, T]) -> Callable[P, T]:
    """SQLite has one writer and answers a busy upgrade from reader to writer with "database is locked"
    at once (busy_timeout does not help there): roll back and run the whole use-case again."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        session: Session = args[0]  # type: ignore[assignment]
        for attempt in range(60):
            try:
                return fn(*args, **kwargs)
            except OperationalError as exc:
                notices.rollback(session)
                if "locked" not in str(exc.orig) or attempt == 59:
                    raise
                time.sleep(min(0.2, 0.005 * (attempt + 1)) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    return wrapper


def guarded(session: Session, work: Callable[[], Any]) -> Any:
    """Run `work` and commit (delivering queued notices); roll back on any error."""
    try:
        result = work()
    except BaseException:
        notices.rollback(session)
        raise
    notices.commit(session)
    return result
