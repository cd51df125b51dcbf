"""Helpers the services share: pages with opaque keyset cursors, LIKE escaping, SQLite write retries, and
when a dated event (an activity, a matchmaking event) takes sign-ups."""

from __future__ import annotations

import base64
import functools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, ParamSpec, Protocol, TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import InstrumentedAttribute, Session

from services import notices
from services.eligibility import aware, utcnow
from services.errors import Closed, DeadlinePassed, Invalid, InvalidTransition, NotFound
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


def keyset_page(
    session: Session,
    query: Select[tuple[T]],
    at: InstrumentedAttribute[Any],
    row_id: InstrumentedAttribute[int],
    *,
    limit: int,
    cursor: str | None,
    newest_first: bool = False,
) -> Page[T]:
    """One page of `query` ordered by (`at`, `row_id`), at most 50 rows, with the cursor to the next page
    (None on the last one). `newest_first` walks the key downwards."""
    if cursor:
        after, last_id = decode_cursor(cursor)
        key, mark = tuple_(at, row_id), tuple_(after, last_id)
        query = query.where(key < mark if newest_first else key > mark)
    limit = max(1, min(limit, 50))
    order = (at.desc(), row_id.desc()) if newest_first else (at, row_id)
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
    items = rows[:limit]
    if len(rows) <= limit or not items:
        return Page(items, None)
    last = items[-1]
    return Page(items, encode_cursor(getattr(last, at.key), getattr(last, row_id.key)))


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


class Stated(Protocol):
    id: int
    status: str


S = TypeVar("S", bound=Stated)


def move(
    session: Session,
    row: S | None,
    subject: str,
    names: tuple[str, str],
    allowed: tuple[str, ...],
    new: str,
    actor: str,
    reason: str | None = None,
) -> S:
    """Move a row (locked by the caller) from one of the `allowed` statuses to `new`, recorded in the
    caller's transaction. `names`: what to call the thing in errors, and the message when it is missing."""
    noun, missing = names
    if row is None:
        raise NotFound(missing)
    if row.status not in allowed:
        raise InvalidTransition(f"{noun}当前状态（{row.status}）不能变为 {new}。")
    record_change(session, subject, row.id, row.status, new, actor, reason)
    row.status = new
    return row


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


def first_wins(session: Session, work: Callable[[], T], existing: Callable[[], T | None]) -> T:
    """Run `work` and commit (delivering queued notices); roll back on any error. When a concurrent
    duplicate committed first (an `IntegrityError`), the rollback also undoes whatever `work` claimed and
    the duplicate that won, found by `existing`, is the answer."""
    try:
        result = work()
        notices.commit(session)
    except IntegrityError:
        notices.rollback(session)
        found = existing()
        if found is None:
            raise
        return found
    except BaseException:
        notices.rollback(session)
        raise
    return result


def guarded(session: Session, work: Callable[[], Any]) -> Any:
    """Run `work` and commit (delivering queued notices); roll back on any error."""
    try:
        result = work()
    except BaseException:
        notices.rollback(session)
        raise
    notices.commit(session)
    return result


class Dated(Protocol):
    """What `ensure_open` reads of an activity or a matchmaking event."""

    status: str
    starts_at: datetime
    signup_deadline: datetime | None


def ensure_open(item: Dated, noun: str, now: datetime | None = None) -> None:
    """`Closed` or `DeadlinePassed` (with the reason, naming the `noun`) unless `item` takes sign-ups now:
    published, not started and before its sign-up deadline."""
    now = now or utcnow()
    if item.status != "published":
        raise Closed(f"这个{noun}已取消。" if item.status == "cancelled" else f"这个{noun}已停止报名。")
    if aware(item.starts_at) <= now:  # type: ignore[operator]
        raise DeadlinePassed("活动已经开始，不能再报名了。")
    deadline = aware(item.signup_deadline)
    if deadline is not None and deadline <= now:
        raise DeadlinePassed("报名已截止。")


def is_open(item: Dated, now: datetime | None = None) -> bool:
    """Whether `item` takes sign-ups now (the rule of `ensure_open`)."""
    try:
        ensure_open(item, "", now)
    except (Closed, DeadlinePassed):
        return False
    return True
