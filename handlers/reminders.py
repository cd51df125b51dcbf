"""Reminders in chat (intent `reminders`): turn them on or off per topic and say exactly what comes.

订阅活动提醒 / 订阅见习提醒 / 订阅提醒 turn topics on; 退订 / TD / 取消订阅 turn everything off, 退订活动提醒
one topic; 我的提醒 shows the settings. Also the `unsubscribe` event: the follower is gone, so their data
is erased (`services.reminders.forget_follower`), on the worker path like every database handler.
"""

from __future__ import annotations

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select

from bot import content, message_log
from bot.dialogue.context import Context
from bot.extensions import db, get_redis
from bot.wechat.replies import Reply, Success, Text
from services import reminders
from services.models import User

OFF_WORDS = ("退订", "取消订阅", "关闭", "关掉", "不要再发", "别再发", "不要提醒", "不再提醒", "停止")
ON_WORDS = ("订阅", "开启", "打开", "开通", "提醒我", "要提醒")
TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "activities": ("活动",),
    "traineeships": ("见习", "实习", "岗位", "申请", "求职"),
    "matchmaking": ("交友", "婚恋", "相亲", "联谊"),
    "wishes": ("心愿",),
}


def handle(ctx: Context) -> Reply:
    """Runs on a worker (not `pure`): it reads and writes preferences."""
    ctx.state.pop("misses")
    compact = ctx.norm.compact.lower()
    topics = [topic for topic, words in TOPIC_WORDS.items() if any(w in compact for w in words)] or None
    if compact == "td" or any(w in compact for w in OFF_WORDS):
        return _change(ctx, topics, enabled=False)
    if any(w in compact for w in ON_WORDS):
        return _change(ctx, topics, enabled=True)
    return _status(ctx)


def _leads(hours: list[float]) -> str:
    names = [f"{h:g} 小时" for h in sorted(set(hours), reverse=True)]
    return names[0] if len(names) == 1 else "、".join(names[:-1]) + "和 " + names[-1]


def describe(topic: str, lead_hours: list[float]) -> str:
    """What a person receives on `topic` (the lead times are settings, so the text is filled in)."""
    if topic == "activities":
        return content.text("reminders_topic_activities", leads=_leads(lead_hours))
    return content.text(f"reminders_topic_{topic}")


def _names(topics: list[str]) -> str:
    return "、".join(content.text(f"reminders_name_{topic}") for topic in topics)


def _change(ctx: Context, topics: list[str] | None, enabled: bool) -> Reply:
    from services.users import get_or_create_oa_user

    user = get_or_create_oa_user(db.session, ctx.openid)
    prefs = reminders.set_preferences(db.session, user, topics, enabled)
    chosen = topics or list(reminders.TOPICS)
    if enabled:
        items = "\n".join(f"· {describe(t, ctx.settings.REMINDER_LEAD_HOURS)}" for t in chosen)
        return Text(
            content.text("reminders_on", names=_names(chosen), items=items, how=content.text("reminders_how"))
        )
    if topics is None:
        return Text(content.text("reminders_off_all"))
    still = [t for t, on in prefs.items() if on]
    # TOML trims a text's leading newline, so the line break before the optional line is the code's.
    remaining = "\n" + content.text("reminders_still_on", names=_names(still)) if still else ""
    return Text(content.text("reminders_off", names=_names(chosen), still=remaining))


def _status(ctx: Context) -> Reply:
    user = db.session.scalars(select(User).where(User.oa_openid == ctx.openid)).first()
    prefs = (
        reminders.preferences(db.session, user) if user is not None else dict.fromkeys(reminders.TOPICS, True)
    )
    items = "\n".join(
        content.text(
            "reminders_status_item",
            name=content.text(f"reminders_name_{topic}"),
            state=content.text("reminders_state_on" if on else "reminders_state_off"),
            what=describe(topic, ctx.settings.REMINDER_LEAD_HOURS),
        )
        for topic, on in prefs.items()
    )
    return Text(content.text("reminders_status", items=items, how=content.text("reminders_how")))


def forget(ctx: Context) -> Reply:
    """`unsubscribe`: turn everything off by erasing the person and what they sent us; no reply."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # Their last messages may still sit in the Redis buffer: land them first so that they are erased too.
    message_log.flush(app)
    reminders.forget_follower(db.session, ctx.openid)
    rx = get_redis(app)
    try:
        assert rx.client is not None
        rx.client.delete(rx.key("transcript", ctx.openid))
    except RedisError:
        pass  # the transcript ring expires by itself (TRANSCRIPT_TTL_SECONDS)
    return Success()
