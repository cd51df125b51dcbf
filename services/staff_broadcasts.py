"""Staff broadcasts on top of the delivery engine: a checked preview, send now or later, cancel, and a
delivery report in staff words. The role is checked here and every send and cancel is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.wechat import values as rules
from services import audit, delivery, delivery_templates
from services.audit import actor_of
from services.broadcast_audience import Audience, query
from services.delivery_channels import cs_text, notice_values
from services.eligibility import aware
from services.errors import Invalid, InvalidTransition, NotFound
from services.models_delivery import Notice
from services.models_staff import StaffUser
from services.staff import ensure_role

KIND = "broadcast"
CHANNEL_LABELS = {
    "subscription": "订阅消息",
    "template": "模板消息",
    "customer_service": "客服消息",
    "none": "未发送",
}
SKIP_LABELS = {
    "cancelled": "已取消",
    "no_channel": "无可用渠道（不在客服窗口、也没有订阅）",
    "no_openid": "没有微信身份",
    "user_gone": "用户已注销",
    "max_attempts": "多次重试仍失败",
}
ERROR_LABELS = {
    "40003": "openid 无效",
    "43004": "用户未关注公众号",
    "43101": "用户未订阅或次数已用完",
    "45015": "客服窗口已关闭",
    "45047": "客服消息条数已用完",
    "47003": "模板内容不符合微信规则",
    "45009": "今日调用次数已满",
}

# WeChat's rule per field type, in staff words (bot/wechat/values.py words its findings as WeChat does).
RULE_HINTS = {
    "thing": "20 个字以内，不能换行",
    "short_thing": "5 个字以内",
    "number": "只能是数字",
    "letter": "只能是英文字母",
    "symbol": "只能是符号，5 个以内",
    "character_string": "字母、数字或符号，32 个以内",
    "time": "24 小时制时间，如 2026年12月1日 15:01",
    "date": "日期，如 2026年12月1日",
    "amount": "金额，如 100元",
    "phone_number": "电话号码，17 位以内",
    "car_number": "车牌号，如 京A12345",
    "name": "姓名，10 个汉字以内",
    "phrase": "5 个汉字以内，只能是汉字",
}


def explain(kind: str, reason: str) -> str:
    """A finding of `values.check` in Chinese for staff."""
    if reason == "is empty":
        return "不能为空"
    return f"不符合微信规则（{RULE_HINTS.get(kind, kind)}）"


@dataclass(frozen=True, slots=True)
class Draft:
    """What staff compose: text only (customer-service, for people inside their window) or a template."""

    title: str
    body: str
    template: str | None = None  # a key of content/templates.toml
    values: dict[str, str] = field(default_factory=dict)
    scheduled_at: datetime | None = None


def placeholders(template_key: str) -> list[str]:
    """The values a template's fields name besides the built-in title, body and creation time."""
    template = delivery_templates.get(template_key)
    if template is None:
        return []
    names: list[str] = []
    for pattern in (*template.subscription_fields.values(), *template.template_fields.values()):
        for part in pattern.split("{")[1:]:
            name = part.split("}", 1)[0]
            if name and name not in delivery_templates.BUILT_IN and name not in names:
                names.append(name)
    return names


def preview(draft: Draft) -> dict[str, Any]:
    """Each channel as WeChat would show it, with WeChat's value rules checked field by field.

    `problems` lists what would make WeChat refuse the message (47003); `shortened` fields still send, cut
    to fit. Customer-service text has no field rules beyond its length, which `cs_text` already keeps.
    """
    problems: list[str] = []
    if not draft.title.strip():
        problems.append("请填写标题。")
    if not draft.body.strip():
        problems.append("请填写内容。")
    channels: dict[str, Any] = {}
    if draft.template is not None:
        template = delivery_templates.get(draft.template)
        if template is None:
            problems.append("没有这个消息模板。")
        else:
            filled = notice_values(draft.title, draft.body, draft.values, datetime.now(UTC))
            source = {**template.defaults, **filled}
            for channel in ("subscription", "template"):
                if template.template_id(channel) is None:  # type: ignore[arg-type]
                    continue
                fields = []
                for key, pattern in template.fields(channel).items():  # type: ignore[arg-type]
                    fields.append(_field(key, pattern, source, problems, channel))
                channels[channel] = {"template_id": template.template_id(channel), "fields": fields}  # type: ignore[arg-type]
    return {
        "ok": not problems,
        "problems": problems,
        "text": cs_text(draft.title.strip(), draft.body.strip()),
        "channels": channels,
    }


def _field(
    key: str, pattern: str, source: dict[str, str], problems: list[str], channel: str
) -> dict[str, Any]:
    kind = rules.kind_of(key)
    try:
        raw = pattern.format_map(source)
    except KeyError as exc:
        raw, sent, problem = "", "", f"缺少「{exc.args[0]}」"
    else:
        sent = delivery_templates.fit(kind, raw)
        found = rules.check(kind, sent)
        problem = explain(kind, found) if found else None
    if problem:
        problems.append(f"{CHANNEL_LABELS[channel]} {key}：{problem}")
    shown = sent if problem is None else raw
    return {
        "key": key,
        "type": kind,
        "value": shown,
        "problem": problem,
        "shortened": problem is None and sent != raw,
    }


def send(session: Session, staff: StaffUser, draft: Draft, audience: Audience) -> Notice:
    """Create the notice for every recipient (now, or at `scheduled_at`); the delivery workers send it."""
    ensure_role(staff, "editor")
    checked = preview(draft)
    if not checked["ok"]:
        raise Invalid("通知内容不符合微信的规则：" + "；".join(checked["problems"]))
    if draft.scheduled_at is not None and draft.scheduled_at <= datetime.now(UTC):
        raise Invalid("定时发送的时间需晚于现在。", fields={"scheduled_at": "需晚于现在。"})
    actor = actor_of(staff)
    notice = delivery.create_notice(
        session,
        kind=KIND,
        title=draft.title.strip(),
        body=draft.body.strip(),
        audience=query(session, audience),
        template=draft.template,
        values=draft.values,
        created_by=actor,
        scheduled_at=draft.scheduled_at,
    )
    audit.record(
        session,
        actor,
        "broadcast.send",
        f"notice:{notice.id}",
        {
            "audience": audience.describe(session),
            "recipients": notice.total,
            "template": draft.template,
            "scheduled_at": draft.scheduled_at.isoformat() if draft.scheduled_at else None,
        },
    )
    return notice


def get_broadcast(session: Session, notice_id: int) -> Notice:
    """A staff broadcast; other notices (one person's status news) are not shown in the console."""
    notice = delivery.get_notice(session, notice_id)
    if notice.kind != KIND:
        raise NotFound("没有找到这条群发通知。")
    return notice


def cancel(session: Session, staff: StaffUser, notice_id: int) -> Notice:
    ensure_role(staff, "editor")
    notice = get_broadcast(session, notice_id)
    progress = delivery.notice_progress(session, notice_id)
    if notice.status == "cancelled" or progress.pending == 0:
        raise InvalidTransition("这条通知已经发送完毕或已取消。")
    actor = actor_of(staff)
    notice = delivery.cancel_notice(session, notice_id, actor)
    audit.record(session, actor, "broadcast.cancel", f"notice:{notice_id}", {"pending": progress.pending})
    return notice


def report(session: Session, notice_id: int) -> dict[str, Any]:
    """The progress page's poll: counts, percent, and each outcome in staff words."""
    notice = get_broadcast(session, notice_id)
    p = delivery.notice_progress(session, notice_id)
    handled = p.total - p.pending - p.sending
    scheduled = aware(notice.scheduled_at) > datetime.now(UTC)  # type: ignore[operator] and handled == 0 and notice.status == "active"
    finished = p.pending == 0 and p.sending == 0
    if notice.status == "cancelled":
        state, summary = (
            ("cancelled", "已取消：未发出的不再发送。") if finished else ("cancelling", "正在取消…")
        )
    elif scheduled:
        state, summary = "scheduled", "定时发送，尚未开始。"
    elif finished:
        state, summary = "done", "发送完毕。"
    else:
        state, summary = "running", f"正在发送：{handled} / {p.total}"
    skipped_total = sum(p.skipped.values())
    failed_total = sum(p.failed.values())
    return {
        "state": state,
        "finished": finished or scheduled,
        "cancellable": notice.status == "active" and p.pending > 0,
        "total": p.total,
        "sent": p.sent,
        "pending": p.pending + p.sending,
        "skipped_count": skipped_total,
        "failed_count": failed_total,
        "percent": 100 if p.total == 0 else handled * 100 // p.total,
        "summary": summary + f" 已送达 {p.sent}，跳过 {skipped_total}，失败 {failed_total}。",
        "channels": [f"{CHANNEL_LABELS.get(c, c)}：{n}" for c, n in sorted(p.sent_by_channel.items())],
        "skipped": [f"{SKIP_LABELS.get(r, r)}：{n}" for r, n in sorted(p.skipped.items())],
        "failed": [f"{ERROR_LABELS.get(c, '错误码 ' + c)}：{n}" for c, n in sorted(p.failed.items())],
    }
