"""Talk to a person from anywhere: WeChat's customer-service seats when the account has them, else a queue."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import content
from bot.dialogue.context import Context
from bot.extensions import db
from bot.wechat.replies import Reply, Text, TransferToHuman
from services import help_cases


def handle(ctx: Context) -> Reply:
    ctx.state.pop("misses")
    if ctx.settings.WECHAT_KF_ENABLED:
        return TransferToHuman()
    ref = help_cases.open_human_case(db.session, ctx.openid, ctx.source_key, ctx.recent_transcript())
    hours = content.help_directory()["office_hours"]
    now = datetime.now(ZoneInfo(hours["timezone"]))
    if is_open(now, hours):
        return Text(content.text("human_queued_open", case_id=ref.id, reply_within=hours["reply_within"]))
    return Text(content.text("human_queued_closed", case_id=ref.id, next_open=next_opening(now, hours)))


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def is_open(now: datetime, hours: dict) -> bool:
    minute = now.hour * 60 + now.minute
    return now.isoweekday() in hours["weekdays"] and _minutes(hours["open"]) <= minute < _minutes(
        hours["close"]
    )


def next_opening(now: datetime, hours: dict) -> str:
    opening = _minutes(hours["open"])
    for days in range(8):
        day = now + timedelta(days=days)
        if day.isoweekday() not in hours["weekdays"]:
            continue
        if days == 0 and now.hour * 60 + now.minute >= opening:
            continue
        label = "今天" if days == 0 else "明天" if days == 1 else f"{day.month}月{day.day}日"
        return f"{label} {hours['open']}"
    return hours["open"]
