"""The crisis answer: immediate and passive, then a case for counsellors and an alert to staff on duty."""

from __future__ import annotations

import logging
import time

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from bot.content import text
from bot.dialogue.context import Context
from bot.dialogue.crisis import CrisisSignal
from bot.extensions import db
from bot.wechat.replies import Reply, Text
from services import help_cases

log = logging.getLogger(__name__)

CATEGORY_LABELS = {
    "suicide": "自杀风险",
    "self_harm": "自伤",
    "abuse": "暴力/虐待",
    "sexual_assault": "性侵害",
    "threat": "威胁/伤人风险",
    "model": "疑似危机",
}


def handle(ctx: Context, signal: CrisisSignal) -> Reply:
    # Whatever the person was filling in no longer matters.
    ctx.state.pop("form")
    ctx.state.pop("clarify")
    ctx.state.pop("misses")
    case_id = _open_case(ctx, signal)
    if case_id is not None:
        ctx.state.set(
            "crisis_case", {"id": case_id, "until": int(time.time()) + ctx.settings.CRISIS_FOLLOW_SECONDS}
        )
    _alert_staff(ctx, signal, case_id)
    return Text(text("crisis"))


def in_crisis_window(ctx: Context) -> int | None:
    current = ctx.state.get("crisis_case")
    if isinstance(current, dict) and int(current.get("until", 0)) > time.time():
        return int(current["id"])
    return None


def record_followup_message(ctx: Context, case_id: int) -> None:
    """Messages after a crisis go onto the case, so the counsellor reads the whole conversation."""
    try:
        help_cases.append_to_case(
            db.session, case_id, [{"role": "user", "text": ctx.text, "at": ctx.message.create_time}]
        )
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.error("could not append to crisis case %s: %s", case_id, exc)


def _open_case(ctx: Context, signal: CrisisSignal) -> int | None:
    try:
        ref = help_cases.open_crisis_case(
            db.session, ctx.openid, ctx.source_key, signal.category, signal.evidence, ctx.recent_transcript()
        )
        return ref.id
    except SQLAlchemyError as exc:
        # The reply must still go out; staff are alerted below without a case number.
        db.session.rollback()
        log.error("CRISIS case could not be stored for %s: %s", ctx.source_key, exc)
        return None


def _alert_staff(ctx: Context, signal: CrisisSignal, case_id: int | None) -> None:
    log.warning("CRISIS detected (%s, %s) case=%s", signal.category, signal.evidence, case_id)
    staff = ctx.settings.STAFF_ALERT_OPENIDS
    if not staff:
        return
    message = text(
        "staff_crisis_alert",
        case_id=case_id if case_id is not None else "未保存",
        category=CATEGORY_LABELS.get(signal.category, signal.category),
    )
    followups = current_app.extensions["followups"]
    for openid in staff:
        followups.send(openid, Text(message))
