"""Demo data from content/seed/*.toml: realistic, clearly marked (is_sample, titles start with 【示例】).

Dates are computed relative to the day the seed runs, so the demo always shows the coming weeks. Seeding
is idempotent: a sample row whose title already exists is left alone; `reset` removes sample rows first.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services import seed_matchmaking, seed_wishes
from services.common import guarded
from services.eligibility import BEIJING, beijing_today
from services.listing_data import validate_activity, validate_traineeship
from services.models import Activity, Application, Signup, StatusChange, Traineeship

SEED_DIR = Path(__file__).resolve().parents[1] / "content" / "seed"
MARK = "【示例】"


@dataclass(frozen=True, slots=True)
class SeedReport:
    traineeships: int
    activities: int
    removed: int
    match_events: int = 0
    wishes: int = 0


def load(seed_dir: Path = SEED_DIR) -> dict[str, list[dict[str, Any]]]:
    merged: dict[str, list[dict[str, Any]]] = {"traineeship": [], "activity": []}
    for path in sorted(seed_dir.glob("*.toml")):
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        for key in merged:
            merged[key].extend(data.get(key, []))
    return merged


def _titled(title: str) -> str:
    return title if title.startswith(MARK) else MARK + title


def _traineeship(row: dict[str, Any], today: date, index: int) -> Traineeship:
    data = {k: v for k, v in row.items() if k != "deadline_in_days"}
    data["title"] = _titled(data["title"])
    if "deadline_in_days" in row:
        data["deadline"] = today + timedelta(days=int(row["deadline_in_days"]))
    values = validate_traineeship(data)
    # Staggered publication times give the demo list a believable "newest first" order.
    published = datetime.combine(today, time(9), BEIJING) - timedelta(hours=5 * index)
    return Traineeship(**{"positions": 1, **values}, status="open", is_sample=True, published_at=published)


def _activity(row: dict[str, Any], today: date) -> Activity:
    skip = {"starts_in_days", "time", "duration_hours"}
    data = {k: v for k, v in row.items() if k not in skip}
    data["title"] = _titled(data["title"])
    hour, minute = (int(p) for p in str(row.get("time", "14:00")).split(":"))
    starts = datetime.combine(today + timedelta(days=int(row["starts_in_days"])), time(hour, minute), BEIJING)
    data["starts_at"] = starts
    data["ends_at"] = starts + timedelta(hours=float(row.get("duration_hours", 2)))
    values = validate_activity(data)
    return Activity(**values, confirmed=0, status="published", is_sample=True)


def remove_samples(session: Session) -> int:
    """Delete sample posts and activities with their applications, sign-ups and history (no commit)."""
    post_ids = list(session.scalars(select(Traineeship.id).where(Traineeship.is_sample.is_(True))))
    activity_ids = list(session.scalars(select(Activity.id).where(Activity.is_sample.is_(True))))
    app_ids = list(session.scalars(select(Application.id).where(Application.traineeship_id.in_(post_ids))))
    signup_ids = list(session.scalars(select(Signup.id).where(Signup.activity_id.in_(activity_ids))))
    for subject, ids in (
        ("application", app_ids),
        ("signup", signup_ids),
        ("traineeship", post_ids),
        ("activity", activity_ids),
    ):
        if ids:
            session.execute(
                delete(StatusChange).where(StatusChange.subject == subject, StatusChange.subject_id.in_(ids))
            )
    session.execute(delete(Application).where(Application.id.in_(app_ids)))
    session.execute(delete(Signup).where(Signup.id.in_(signup_ids)))
    session.execute(delete(Traineeship).where(Traineeship.id.in_(post_ids)))
    session.execute(delete(Activity).where(Activity.id.in_(activity_ids)))
    matches, wishes = seed_matchmaking.remove_samples(session), seed_wishes.remove_samples(session)
    return len(post_ids) + len(activity_ids) + matches + wishes


def seed_demo(
    session: Session, *, reset: bool = False, today: date | None = None, seed_dir: Path = SEED_DIR
) -> SeedReport:
    today = today or beijing_today()
    rows = load(seed_dir)

    def work() -> SeedReport:
        removed = remove_samples(session) if reset else 0
        have_posts = set(session.scalars(select(Traineeship.title).where(Traineeship.is_sample.is_(True))))
        have_acts = set(session.scalars(select(Activity.title).where(Activity.is_sample.is_(True))))
        posts = [_traineeship(r, today, i) for i, r in enumerate(rows["traineeship"])]
        posts = [p for p in posts if p.title not in have_posts]
        acts = [a for a in (_activity(r, today) for r in rows["activity"]) if a.title not in have_acts]
        session.add_all([*posts, *acts])
        session.flush()
        session.add_all(
            StatusChange(
                subject=kind, subject_id=obj.id, to_status=obj.status, actor="system", reason="示例数据"
            )
            for kind, objs in (("traineeship", posts), ("activity", acts))
            for obj in objs
        )
        matches = seed_matchmaking.seed(session, today, seed_dir, MARK)
        wishes = seed_wishes.seed(session, today, seed_dir, MARK)
        return SeedReport(len(posts), len(acts), removed, matches, wishes)

    return guarded(session, work)
