"""Dashboard (every role): messages, intents, fallback rate, sign-ups, applications, help cases, delivery."""

from __future__ import annotations

from typing import Any

from flask import render_template

from bot.dialogue.intents import INTENTS
from bot.extensions import db
from console import charts
from console.auth import require_role
from console.blueprint import bp, nav_item
from console.intent_stats import intents_for
from services import stats

INTENT_LABELS = {
    "crisis": "危机",
    "help_12355": "12355",
    "traineeship": "就业见习",
    "matchmaking": "婚恋交友",
    "micro_wish": "微心愿",
    "activity": "活动",
    "reminders": "提醒",
    "human": "转人工",
    "greeting": "问候",
    "fallback": "未识别",
}
COUNT_DAYS = 14
INTENT_DAYS = 7

nav_item("数据概览", "console.dashboard", "viewer", order=10)


def _label(day: Any) -> str:
    return f"{day.month}/{day.day}"


@bp.route("/dashboard")
@require_role("viewer")
def dashboard() -> str:
    session = db.session
    days = stats.last_days(COUNT_DAYS)
    labels = [_label(d) for d in days]
    messages = stats.messages_per_day(session, days)
    signups = stats.signups_per_day(session, days)
    applications = stats.applications_per_day(session, days)
    new_users = stats.new_users_per_day(session, days)
    open_cases = stats.open_cases(session)

    intent_days = intents_for(session, days[-INTENT_DAYS:])
    intent_labels = [_label(d.day) for d in intent_days]
    seen = [i for i in INTENTS if any(d.counts.get(i) for d in intent_days)]
    intent_series = {INTENT_LABELS.get(i, i): [d.counts.get(i, 0) for d in intent_days] for i in seen}
    today_intents = intent_days[-1]
    deliveries = stats.deliveries_per_day(session, days)
    rates = [stats.success_rate(s, f) for s, f in zip(deliveries["sent"], deliveries["failed"], strict=True)]
    delivery_names = {"sent": "已送达", "skipped": "已跳过", "failed": "失败", "waiting": "发送中"}
    context = {
        "today": {
            "messages": messages[-1],
            "signups": signups[-1],
            "applications": applications[-1],
            "new_users": new_users[-1],
            "fallback_rate": today_intents.fallback_rate,
            "classified": today_intents.total,
            "delivery_rate": rates[-1],
            "delivered": deliveries["sent"][-1],
        },
        "open_cases": open_cases,
        "sampled": any(d.sampled for d in intent_days),
        "messages_chart": charts.bar_chart(labels, {"消息": messages}, "每日消息数"),
        "intents_chart": charts.stacked_bar_chart(intent_labels, intent_series, "每日意图分布"),
        "intents_legend": charts.legend(list(intent_series)),
        "fallback_chart": charts.line_chart(
            intent_labels, {"未识别率": [d.fallback_rate for d in intent_days]}, "每日未识别率", percent=True
        ),
        "people_chart": charts.line_chart(
            labels, {"新用户": new_users, "活动报名": signups, "见习申请": applications}, "每日新增"
        ),
        "people_legend": charts.legend(["新用户", "活动报名", "见习申请"]),
        "delivery_chart": charts.stacked_bar_chart(
            labels, {delivery_names[k]: v for k, v in deliveries.items()}, "每日通知送达情况"
        ),
        "delivery_legend": charts.legend(list(delivery_names.values())),
        "delivery_rate_chart": charts.line_chart(
            labels, {"送达率": [r if r is not None else 0.0 for r in rates]}, "每日送达率", percent=True
        ),
        "cases_chart": charts.bar_chart(
            ["危机", "回电请求", "转人工"],
            {"待处理": [open_cases["crisis"], open_cases["callback"], open_cases["human"]]},
            "待处理求助",
        ),
    }
    return render_template("console/dashboard.html", **context)
