"""The crisis answer: immediate and passive, whatever else is slow; then a case for counsellors and an
alert to staff on duty, opened in the background so that no database or network wait can delay the reply."""

from __future__ import annotations

import logging
import time

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.content import text
from bot.dialogue.context import Context, pure
from bot.dialogue.crisis import CrisisSignal
from bot.extensions import db
from bot.wechat.replies import Reply, Text
from services import help_cases
from services.models import HelpCase

log = logging.getLogger(__name__)

CATEGORY_LABELS = {
    "suicide": "自杀风险",
    "self_harm": "自伤",
    "abuse": "暴力/虐待",
    "sexual_assault": "性侵害",
    "threat": "威胁/伤人风险",
    "model": "疑似危机",
}


@pure  # no waiting here: the reply must be passive; the case is opened by a background worker
def handle(ctx: Context, signal: CrisisSignal) -> Reply:
    # Whatever the person was filling in no longer matters.
    ctx.state.pop("form")
    ctx.state.pop("clarify")
    ctx.state.pop("misses")
    ctx.state.set(
        "crisis_case",
        {"source": ctx.source_key, "until": int(time.time()) + ctx.settings.CRISIS_FOLLOW_SECONDS},
    )
    followups = current_app.extensions["followups"]
    followups.submit(ctx.openid, lambda: _open_case_and_alert(ctx, signal))
    return Text(text("crisis"))


def in_crisis_window(ctx: Context) -> str | None:
    """The source key of the crisis this person raised recently, if any."""
    current = ctx.state.get("crisis_case")
    if isinstance(current, dict) and int(current.get("until", 0)) > time.time():
        return str(current.get("source"))
    return None


def record_followup_message(ctx: Context, source_key: str) -> None:
    """Messages after a crisis go onto the case, so the counsellor reads the whole conversation."""
    try:
        case_id = db.session.scalars(
            select(HelpCase.id).where(HelpCase.kind == "crisis", HelpCase.source_key == source_key)
        ).first()
        if case_id is not None:
            entry = {"role": "user", "text": ctx.text, "at": ctx.message.create_time}
            help_cases.append_to_case(db.session, case_id, [entry])
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.error("could not append to the crisis case of %s: %s", source_key, exc)


def _open_case_and_alert(ctx: Context, signal: CrisisSignal) -> None:
    """Runs on a follow-up worker inside an app context; returns nothing to send to the young person."""
    try:
        _record_and_alert(ctx, signal)
    except Exception:
        # Never let a failure here reach the young person as an apology after the crisis reply.
        log.exception("CRISIS follow-through failed for %s", ctx.source_key)


def _record_and_alert(ctx: Context, signal: CrisisSignal) -> None:
    log.warning("CRISIS detected (%s, %s) from %s", signal.category, signal.evidence, ctx.source_key)
    case_id: int | None = None
    try:
        ref = help_cases.open_crisis_case(
            db.session, ctx.openid, ctx.source_key, signal.category, signal.evidence, ctx.recent_transcript()
        )
        case_id = ref.id
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.error("CRISIS case could not be stored for %s: %s", ctx.source_key, exc)
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
