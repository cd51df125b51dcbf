"""Rows for matchmaking tests: events written straight into the table (staff tooling is tested on its own),
profiles inserted directly where a test is about seats rather than about the profile rules."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from services.models import User
from services.models_matchmaking import MatchEvent, MatchProfile
from tests.factories import save

_seq = itertools.count(1)
INTRO = "喜欢爬山和读书，性格开朗，希望认识真诚善良的你。"


def make_event(session: Session, **fields: Any) -> MatchEvent:
    n = next(_seq)
    values: dict[str, Any] = {
        "title": f"单身青年联谊 {n}",
        "description": "破冰游戏和茶歇。",
        "partner": "金融街团工委",
        "location": "西城区青年之家",
        "district": "西城区",
        "starts_at": datetime.now(UTC) + timedelta(days=5, minutes=n),
        "age_min": 22,
        "age_max": 35,
        "capacity": 4,
        "seats_male": 2,
        "seats_female": 2,
        "taken_male": 0,
        "taken_female": 0,
        "requires_review": True,
        "checkin_code": "246810",
        "status": "published",
    }
    values.update(fields)
    if "capacity" not in fields and values["seats_male"] is not None:
        values["capacity"] = values["seats_male"] + values["seats_female"]
    return save(session, MatchEvent(**values))


def make_profile(
    session: Session, user: User, gender: str = "male", age: int = 26, **fields: Any
) -> MatchProfile:
    values: dict[str, Any] = {
        "user_id": user.id,
        "nickname": f"昵称{user.id}",
        "birth_year": datetime.now(UTC).year - age,
        "gender": gender,
        "occupation": "金融",
        "self_intro": INTRO,
        "consent_at": datetime.now(UTC),
        "intro_verdict": "pass",
        **fields,
    }
    return save(session, MatchProfile(**values))
