"""What the demo-data seeders of matchmaking events and micro-wishes share: reading their rows out of
content/seed/*.toml, adding the samples not there yet with their history, and deleting that history."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import delete
from sqlalchemy.orm import Session

from services.common import record_change
from services.models import StatusChange


class Sample(Protocol):
    id: int


T = TypeVar("T", bound=Sample)


def load(seed_dir: Path, table: str) -> list[dict[str, Any]]:
    """The `[[table]]` rows of every seed file, in file order."""
    rows: list[dict[str, Any]] = []
    for path in sorted(seed_dir.glob("*.toml")):
        with path.open("rb") as fh:
            rows.extend(tomllib.load(fh).get(table, []))
    return rows


def add_new(
    session: Session, built: Iterable[T], name: Callable[[T], str], have: set[str], subject: str, status: str
) -> int:
    """Add the samples whose name is not among those there already, each recorded as put there by the
    system in `status`; no commit. Returns how many were added."""
    samples = [sample for sample in built if name(sample) not in have]
    session.add_all(samples)
    session.flush()
    for sample in samples:
        record_change(session, subject, sample.id, None, status, "system", "示例数据")
    return len(samples)


def forget_history(session: Session, subject: str, ids: Sequence[int]) -> None:
    """Delete the status history of the rows `ids` of `subject` (no commit)."""
    if ids:
        session.execute(
            delete(StatusChange).where(StatusChange.subject == subject, StatusChange.subject_id.in_(ids))
        )
