"""WeChat's later word on a template message: the `TEMPLATESENDJOBFINISH` event.

WeChat accepts a template send at once (errcode 0, a msgid) and only tells afterwards, in an event, whether it
reached the person: `success`, `failed:user block` (they blocked the account's messages) or
`failed: system failed`. A row the worker marked `sent` is turned into `failed` with that reason, so a
notice's report counts what people really received.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.models_delivery import Outbox

MAX_REASON = 200


def record_template_report(session: Session, msgid: str, status: str) -> bool:
    """Apply one report to the template send it names (commits). True when a row changed."""
    status = status.strip()
    if not msgid or status == "success" or not status.startswith("failed"):
        return False  # success confirms what the row already says; anything else is not a delivery report
    result = session.execute(
        update(Outbox)
        .where(Outbox.wechat_msgid == msgid, Outbox.channel == "template", Outbox.status == "sent")
        .values(status="failed", reason=status[:MAX_REASON])
    )
    session.commit()
    return bool(result.rowcount)
