"""The subscription credit ledger: how many one-time subscription messages we may still send.

Per (openid, template_id): +1 for each "accept" (the miniprogram's `wx.requestSubscribeMessage` result or
the Official Account's `subscribe_msg_popup_event`), −1 for each send WeChat accepted, cleared on "reject"
or "ban" and when WeChat answers a send with 43101 (it knows better than our count). "filter" (WeChat's
own background filtering) changes nothing. Every change is one upsert statement, so concurrent accepts
and sends never lose an update.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.errors import Invalid
from services.models_delivery import SubscriptionCredit

Choice = Literal["accept", "reject", "ban", "filter"]
CHOICES: frozenset[str] = frozenset({"accept", "reject", "ban", "filter"})
MAX_TEMPLATES = 20  # wx.requestSubscribeMessage asks for at most 3 at once; leave room, refuse floods
# WeChat's template ids are letters, digits, "_" and "-"; anything else (a NUL, a space) is not one.
TEMPLATE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
_TEMPLATE_ID = re.compile(TEMPLATE_ID_PATTERN)


def _upsert(session: Session, openid: str, template_id: str, choice: str, source: str) -> None:
    values: dict[str, Any] = {
        "openid": openid,
        "template_id": template_id,
        "credits": 1 if choice == "accept" else 0,
        "last_event": source,
        "last_status": choice,
    }
    dialect = session.get_bind().dialect.name
    stmt: Any = (pg_insert if dialect == "postgresql" else sqlite_insert)(SubscriptionCredit).values(**values)
    table = SubscriptionCredit.__table__.c
    if choice == "accept":
        credits: Any = table.credits + 1
    elif choice in ("reject", "ban"):
        credits = 0
    else:
        credits = table.credits
    stmt = stmt.on_conflict_do_update(
        index_elements=["openid", "template_id"],
        set_={"credits": credits, "last_event": source, "last_status": choice},
    )
    session.execute(stmt)


def check_choices(choices: object) -> dict[str, Choice]:
    """Validate `{template_id: accept|reject|ban|filter}` as the API receives it (`Invalid` otherwise)."""
    if not isinstance(choices, Mapping) or not choices:
        raise Invalid("请提供订阅结果。", fields={"body": "应为 {模板ID: accept|reject|ban|filter}"})
    if len(choices) > MAX_TEMPLATES:
        raise Invalid("一次提交的模板太多。", fields={"body": f"最多 {MAX_TEMPLATES} 个"})
    problems: dict[str, str] = {}
    for template_id, choice in choices.items():
        if not isinstance(template_id, str) or not _TEMPLATE_ID.match(template_id):
            problems[str(template_id)[:40] or "template_id"] = "模板ID无效"
        elif choice not in CHOICES:
            problems[template_id] = "应为 accept、reject、ban 或 filter"
    if problems:
        raise Invalid("订阅结果无效。", fields=problems)
    return {str(k): v for k, v in choices.items()}  # type: ignore[misc]


def record_choices(
    session: Session, openid: str, choices: Mapping[str, str], source: str = "api"
) -> dict[str, int]:
    """Apply the user's choices per template (commits); returns the credits each template now has."""
    checked = check_choices(choices)
    for template_id, choice in checked.items():
        _upsert(session, openid, template_id, choice, source)
    session.commit()
    return credits_for(session, openid, checked)


def credits_for(session: Session, openid: str, template_ids: Iterable[str]) -> dict[str, int]:
    ids = list(template_ids)
    rows = session.execute(
        select(SubscriptionCredit.template_id, SubscriptionCredit.credits).where(
            SubscriptionCredit.openid == openid, SubscriptionCredit.template_id.in_(ids)
        )
    )
    found = {template_id: count for template_id, count in rows}
    return {template_id: int(found.get(template_id, 0)) for template_id in ids}


def credits(session: Session, openid: str, template_id: str) -> int:
    return credits_for(session, openid, [template_id])[template_id]


def holders(session: Session, openids: Iterable[str], template_id: str) -> set[str]:
    """Which of `openids` hold at least one credit for `template_id` (one query for a whole batch)."""
    ids = [o for o in openids if o]
    if not ids:
        return set()
    rows = session.scalars(
        select(SubscriptionCredit.openid).where(
            SubscriptionCredit.template_id == template_id,
            SubscriptionCredit.openid.in_(ids),
            SubscriptionCredit.credits > 0,
        )
    )
    return set(rows)


def spend(session: Session, openid: str, template_id: str) -> bool:
    """−1 after a send WeChat accepted (commits); False when no credit was left to take."""
    result = session.execute(
        update(SubscriptionCredit)
        .where(
            SubscriptionCredit.openid == openid,
            SubscriptionCredit.template_id == template_id,
            SubscriptionCredit.credits > 0,
        )
        .values(credits=SubscriptionCredit.credits - 1, last_event="send", last_status="spent")
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def clear(session: Session, openid: str, template_id: str | None = None, status: str = "refused") -> int:
    """Set credits to 0 (43101, unfollow, erasure); all templates when `template_id` is None. Commits."""
    stmt = update(SubscriptionCredit).where(SubscriptionCredit.openid == openid)
    if template_id is not None:
        stmt = stmt.where(SubscriptionCredit.template_id == template_id)
    result = session.execute(stmt.values(credits=0, last_event="clear", last_status=status[:16]))
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def erase_for(session: Session, openids: Iterable[str | None]) -> int:
    """Delete the ledger rows of these openids, in the caller's transaction (erasure: `users.erase_user`)."""
    ids = [o for o in openids if o]
    if not ids:
        return 0
    result = session.execute(delete(SubscriptionCredit).where(SubscriptionCredit.openid.in_(ids)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def apply_event(
    session: Session, openid: str, event: str, results: Iterable[tuple[str, str, str | None]]
) -> None:
    """A webhook event's per-template results, as `(template_id, status, error_code)`; one commit.

    popup: the user's choice in the pop-up (accept/reject); change: a later change in settings
    (accept/reject); sent: WeChat's report of a bizsend we made: success was already counted when the
    send was accepted, so only the status is recorded; a failure for lack of permission clears the credit.
    """
    source = {"subscribe_msg_popup_event": "popup", "subscribe_msg_change_event": "change"}.get(event, "sent")
    for template_id, status, error_code in results:
        if not _TEMPLATE_ID.match(template_id or ""):
            continue
        status = (status or "").strip().lower()
        if source != "sent":
            if status in CHOICES:
                _upsert(session, openid, template_id, status, source)
            continue
        sent_ok = (error_code or "0").strip() == "0"
        session.execute(
            update(SubscriptionCredit)
            .where(SubscriptionCredit.openid == openid, SubscriptionCredit.template_id == template_id)
            .values(
                credits=SubscriptionCredit.credits if sent_ok else 0,
                last_event="sent",
                last_status=("sent" if sent_ok else "send_failed"),
            )
        )
    session.commit()
