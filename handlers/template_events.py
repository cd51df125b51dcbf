"""`TEMPLATESENDJOBFINISH`: WeChat's report on a template message, recorded on its outbox row.

One such event follows every template send of a broadcast, so the write runs off the webhook thread (a
`Call`) and a failure is logged, never answered with an error: WeChat would only retry the same event.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from bot.dialogue.context import Call, Context
from bot.extensions import db
from bot.wechat.replies import Reply, Success
from services.delivery_reports import record_template_report

log = logging.getLogger(__name__)


def record(ctx: Context) -> Call:
    msgid = ctx.message.msg_id or ""
    raw = ctx.message.fields.get("Status")
    status = raw if isinstance(raw, str) else ""

    def write() -> Reply:
        try:
            record_template_report(db.session, msgid, status)
        except SQLAlchemyError as exc:
            db.session.rollback()
            log.error("template report %s (%s) not recorded: %s", msgid, status, exc)
        return Success()

    return Call(write)
