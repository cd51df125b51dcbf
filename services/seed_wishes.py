"""Demo micro-wishes from `[[wish]]` rows in content/seed/*.toml: published on the wall and marked as samples
like the rest of the demo data (`services.seed`)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services import seed_rows
from services.content_safety import keyword_verdict
from services.eligibility import BEIJING
from services.errors import Invalid
from services.models_wishes import Wish
from services.wish_claims import SUBJECT
from services.wish_rules import identifying_details, validate_submission

_TIMING = ("approved_days_ago",)


def _wish(row: dict[str, Any], today: date, mark: str) -> Wish:
    data = {k: v for k, v in row.items() if k not in _TIMING}
    data["item"] = row["item"] if row["item"].startswith(mark) else mark + row["item"]
    values = validate_submission(data)
    values.pop("guardian_consent")
    # Demo text is ours, but it is held to the same rules as anyone's: our list, no identifying details.
    suggest, reason = keyword_verdict(" ".join((values["alias"], values["item"], values["story"])))
    approved = datetime.combine(today, time(9), BEIJING) - timedelta(
        days=int(row.get("approved_days_ago", 0))
    )
    wish = Wish(
        **values,
        guardian_consent_at=approved if values["age_band"] == "under14" else None,
        safety_suggest=suggest,
        safety_reason=reason,
        safety_source="keywords",
        public_alias=values["alias"],
        public_item=values["item"],
        public_story=values["story"],
        status="approved",
        approved_at=approved,
        thank_you_sent=False,
        is_sample=True,
    )
    if suggest != "pass" or identifying_details(wish, values["story"]):
        raise Invalid(f"示例心愿「{values['item']}」未通过内容检查：{reason or '含可识别身份的信息'}")
    return wish


def seed(session: Session, today: date, seed_dir: Path, mark: str) -> int:
    """Add the sample wishes not there yet (by item); no commit. Returns how many were added."""
    have = set(session.scalars(select(Wish.item).where(Wish.is_sample.is_(True))))
    wishes = (_wish(r, today, mark) for r in seed_rows.load(seed_dir, "wish"))
    return seed_rows.add_new(session, wishes, lambda w: w.item, have, SUBJECT, "approved")


def remove_samples(session: Session) -> int:
    """Delete sample wishes with their history (no commit). Returns how many."""
    ids = list(session.scalars(select(Wish.id).where(Wish.is_sample.is_(True))))
    if ids:
        seed_rows.forget_history(session, SUBJECT, ids)
        session.execute(delete(Wish).where(Wish.id.in_(ids)))
    return len(ids)
