"""Data factories for service tests: sensible defaults, override what the test is about."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from services.models import Activity, Traineeship, User

_seq = itertools.count(1)
T = TypeVar("T")


def save(session: Session, row: T) -> T:
    """Add one row straight into its table and commit."""
    session.add(row)
    session.commit()
    return row


def make_user(session: Session, **fields: Any) -> User:
    n = next(_seq)
    return save(
        session, User(**{"openid": f"mp-{n}-{datetime.now().timestamp()}", "age_band": "18to24", **fields})
    )


def make_users(session: Session, count: int, **fields: Any) -> list[User]:
    stamp = datetime.now().timestamp()
    users = [User(**{"openid": f"bulk-{stamp}-{i}", "age_band": "18to24", **fields}) for i in range(count)]
    session.add_all(users)
    session.commit()
    return users


def make_traineeship(session: Session, **fields: Any) -> Traineeship:
    n = next(_seq)
    values: dict[str, Any] = {
        "title": f"见习岗位 {n}",
        "employer": "西城区某单位",
        "district": "西城区",
        "field": "金融",
        "stipend": 3000,
        "positions": 2,
        "description": "示例描述",
        "status": "open",
        "published_at": datetime.now(UTC) - timedelta(minutes=n),
    }
    return save(session, Traineeship(**{**values, **fields}))


def make_activity(session: Session, **fields: Any) -> Activity:
    n = next(_seq)
    values: dict[str, Any] = {
        "title": f"活动 {n}",
        "category": "志愿服务",
        "location": "西城区某社区",
        "district": "西城区",
        "starts_at": datetime.now(UTC) + timedelta(days=3, minutes=n),
        "capacity": 10,
        "confirmed": 0,
        "waitlist": True,
        "status": "published",
    }
    return save(session, Activity(**{**values, **fields}))


APPLY_FORM = {
    "name": "张三",
    "phone": "13800138000",
    "school": "北京某大学",
    "major": "金融学",
    "graduation_year": datetime.now().year,
}
