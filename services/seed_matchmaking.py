"""Demo matchmaking events from `[[match_event]]` rows in content/seed/*.toml, published and marked as
samples like the rest of the demo data (`services.seed`). Dates are relative to the day the seed runs."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.common import record_change
from services.eligibility import BEIJING
from services.matchmaking_seats import SUBJECT
from services.matchmaking_staff import EVENT, new_checkin_code, validate_event
from services.models import StatusChange
from services.models_matchmaking import MatchEvent, MatchSignup

_TIMING = ("starts_in_days", "time", "duration_hours", "signup_days_before", "cancel_days_before")


def load(seed_dir: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in sorted(seed_dir.glob("*.toml")):
        with path.open("rb") as fh:
            rows.extend(tomllib.load(fh).get("match_event", []))
    return rows


def _event(row: dict[str, Any], today: date, mark: str) -> MatchEvent:
    data = {k: v for k, v in row.items() if k not in _TIMING}
    data["title"] = row["title"] if row["title"].startswith(mark) else mark + row["title"]
    hour, minute = (int(p) for p in str(row.get("time", "14:00")).split(":"))
    starts = datetime.combine(today + timedelta(days=int(row["starts_in_days"])), time(hour, minute), BEIJING)
    data["starts_at"] = starts
    data["ends_at"] = starts + timedelta(hours=float(row.get("duration_hours", 2)))
    for key, column in (("signup_days_before", "signup_deadline"), ("cancel_days_before", "cancel_deadline")):
        if key in row:
            data[column] = starts - timedelta(days=int(row[key]))
    values = validate_event(data)
    values.setdefault("checkin_code", new_checkin_code())
    return MatchEvent(**values, taken_male=0, taken_female=0, status="published", is_sample=True)


def seed(session: Session, today: date, seed_dir: Path, mark: str) -> int:
    """Add the sample events not there yet (by title); no commit. Returns how many were added."""
    have = set(session.scalars(select(MatchEvent.title).where(MatchEvent.is_sample.is_(True))))
    events = [e for e in (_event(r, today, mark) for r in load(seed_dir)) if e.title not in have]
    session.add_all(events)
    session.flush()
    for event in events:
        record_change(session, EVENT, event.id, None, "published", "system", "示例数据")
    return len(events)


def remove_samples(session: Session) -> int:
    """Delete sample events with their sign-ups and history (no commit). Returns how many events."""
    event_ids = list(session.scalars(select(MatchEvent.id).where(MatchEvent.is_sample.is_(True))))
    if not event_ids:
        return 0
    signup_ids = list(session.scalars(select(MatchSignup.id).where(MatchSignup.event_id.in_(event_ids))))
    for subject, ids in ((SUBJECT, signup_ids), (EVENT, event_ids)):
        if ids:
            session.execute(
                delete(StatusChange).where(StatusChange.subject == subject, StatusChange.subject_id.in_(ids))
            )
    session.execute(delete(MatchSignup).where(MatchSignup.event_id.in_(event_ids)))
    session.execute(delete(MatchEvent).where(MatchEvent.id.in_(event_ids)))
    return len(event_ids)
