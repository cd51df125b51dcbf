"""Demo matchmaking events from `[[match_event]]` rows in content/seed/*.toml, published and marked as
samples like the rest of the demo data (`services.seed`). Dates are relative to the day the seed runs."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services import seed_rows
from services.eligibility import BEIJING
from services.matchmaking_seats import SUBJECT
from services.matchmaking_staff import EVENT, new_checkin_code, validate_event
from services.models_matchmaking import MatchEvent, MatchSignup

_TIMING = ("starts_in_days", "time", "duration_hours", "signup_days_before", "cancel_days_before")


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
    events = (_event(r, today, mark) for r in seed_rows.load(seed_dir, "match_event"))
    return seed_rows.add_new(session, events, lambda e: e.title, have, EVENT, "published")


def remove_samples(session: Session) -> int:
    """Delete sample events with their sign-ups and history (no commit). Returns how many events."""
    event_ids = list(session.scalars(select(MatchEvent.id).where(MatchEvent.is_sample.is_(True))))
    if not event_ids:
        return 0
    signup_ids = list(session.scalars(select(MatchSignup.id).where(MatchSignup.event_id.in_(event_ids))))
    seed_rows.forget_history(session, SUBJECT, signup_ids)
    seed_rows.forget_history(session, EVENT, event_ids)
    session.execute(delete(MatchSignup).where(MatchSignup.event_id.in_(event_ids)))
    session.execute(delete(MatchEvent).where(MatchEvent.id.in_(event_ids)))
    return len(event_ids)
