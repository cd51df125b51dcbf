"""WeChat's subscription-message events (pop-up choices, later changes, send reports) → the credit ledger.

These arrive rarely and need no reply; the one database write runs off the webhook thread (a `Call`), and
a failure is logged, never answered with an error: WeChat would only retry the same event.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from bot.dialogue.context import Call, Context
from bot.extensions import db
from bot.wechat.replies import Reply, Success
from services import subscriptions

log = logging.getLogger(__name__)


def record(ctx: Context) -> Call:
    msg = ctx.message
    results = [(r.template_id, r.status, r.error_code) for r in msg.subscribe_msg]

    def write() -> Reply:
        if not results:
            return Success()
        try:
            subscriptions.apply_event(db.session, msg.from_user, msg.event or "", results)
        except SQLAlchemyError as exc:
            db.session.rollback()
            log.error("subscription event %s for %s not recorded: %s", msg.event, msg.dedup_key, exc)
        return Success()

    return Call(write)
