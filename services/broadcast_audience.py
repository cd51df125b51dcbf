"""Who a staff broadcast goes to, as one `select(User.id)` the delivery engine copies with INSERT … SELECT."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session

from services import delivery_templates
from services.eligibility import AGE_BANDS
from services.errors import Invalid, NotFound
from services.models import Activity, Signup, User
from services.models_delivery import SubscriptionCredit
from services.models_matchmaking import MatchEvent, MatchSignup

KINDS = {
    "all": "所有可触达的用户（关注公众号或用过小程序）",
    "topic": "订阅了某类通知的用户",
    "activity": "某个活动的报名者",
    "event": "某场交友活动的报名者",
    "profile": "按区域 / 年龄段",
}
AGE_BAND_LABELS = {"under14": "14 岁以下", "14to17": "14–17 岁", "18to24": "18–24 岁", "25to35": "25–35 岁"}
TOPIC_LABELS = {"activity_reminder": "活动提醒", "signup_result": "报名结果", "status_update": "进度更新"}
# Matchmaking sign-ups that still expect to come.
EVENT_LIVE = ("pending", "approved", "waitlisted")


@dataclass(frozen=True, slots=True)
class Audience:
    kind: str
    topic: str | None = None
    activity_id: int | None = None
    event_id: int | None = None
    district: str | None = None
    age_band: str | None = None

    def describe(self, session: Session) -> str:
        """How the broadcast list names the audience ("活动「读书会」的报名者")."""
        if self.kind == "topic":
            return f"订阅了「{topic_label(self.topic or '')}」的用户"
        if self.kind == "activity":
            activity = session.get(Activity, self.activity_id)
            return f"活动「{activity.title if activity else self.activity_id}」的报名者"
        if self.kind == "event":
            event = session.get(MatchEvent, self.event_id)
            return f"交友活动「{event.title if event else self.event_id}」的报名者"
        if self.kind == "profile":
            parts = [self.district or "", AGE_BAND_LABELS.get(self.age_band or "", "")]
            return "、".join(p for p in parts if p) + " 的用户"
        return KINDS["all"]


def topics() -> dict[str, str]:
    """Templates people subscribe to (one-time subscription messages): key → label."""
    return {k: topic_label(k) for k, t in delivery_templates.templates().items() if t.subscription}


def topic_label(key: str) -> str:
    return TOPIC_LABELS.get(key, key)


def parse(raw: dict[str, str]) -> Audience:
    """An audience from form fields (`audience`, `topic`, `activity_id`, `event_id`, `district`,
    `age_band`); `Invalid` naming the field that is missing or wrong."""
    kind = (raw.get("audience") or "").strip()
    if kind not in KINDS:
        raise Invalid("请选择发送对象。", fields={"audience": "请选择发送对象。"})

    def number(name: str) -> int:
        try:
            return int(str(raw.get(name) or "").strip())
        except ValueError:
            raise Invalid("请选择发送对象。", fields={name: "请选择。"}) from None

    if kind == "topic":
        topic = (raw.get("topic") or "").strip()
        if topic not in topics():
            raise Invalid("请选择订阅类别。", fields={"topic": "请选择订阅类别。"})
        return Audience(kind, topic=topic)
    if kind == "activity":
        return Audience(kind, activity_id=number("activity_id"))
    if kind == "event":
        return Audience(kind, event_id=number("event_id"))
    if kind == "profile":
        district = (raw.get("district") or "").strip() or None
        band = (raw.get("age_band") or "").strip() or None
        if band is not None and band not in AGE_BANDS:
            raise Invalid("年龄段无效。", fields={"age_band": "年龄段无效。"})
        if district is None and band is None:
            raise Invalid("请填写区域或选择年龄段。", fields={"district": "请填写区域或选择年龄段。"})
        return Audience(kind, district=district, age_band=band)
    return Audience(kind)


def query(session: Session, audience: Audience) -> Select[tuple[int]]:
    """The recipients' user ids (`NotFound` for an activity or event that does not exist)."""
    if audience.kind == "activity":
        if session.get(Activity, audience.activity_id) is None:
            raise NotFound("没有找到这个活动。")
        return select(Signup.user_id).where(
            Signup.activity_id == audience.activity_id, Signup.status.in_(("confirmed", "waitlisted"))
        )
    if audience.kind == "event":
        if session.get(MatchEvent, audience.event_id) is None:
            raise NotFound("没有找到这场交友活动。")
        return select(MatchSignup.user_id).where(
            MatchSignup.event_id == audience.event_id, MatchSignup.status.in_(EVENT_LIVE)
        )
    reachable = or_(User.oa_openid.is_not(None), User.openid.is_not(None))
    base = select(User.id).where(reachable)
    if audience.kind == "topic":
        template = delivery_templates.get(audience.topic or "")
        if template is None or not template.subscription:
            raise NotFound("没有这个订阅类别。")
        subscribed = exists().where(
            SubscriptionCredit.template_id == template.subscription,
            SubscriptionCredit.credits > 0,
            or_(SubscriptionCredit.openid == User.openid, SubscriptionCredit.openid == User.oa_openid),
        )
        return base.where(subscribed)
    if audience.kind == "profile":
        if audience.district:
            base = base.where(User.district == audience.district)
        if audience.age_band:
            base = base.where(User.age_band == audience.age_band)
    return base


def count(session: Session, audience: Audience) -> int:
    ids = query(session, audience).subquery()
    return int(session.scalar(select(func.count()).select_from(ids)) or 0)


def activity_choices(session: Session, limit: int = 50) -> list[Activity]:
    """Activities whose people staff may want to reach: not drafts, not cancelled, latest start first."""
    query = select(Activity).where(Activity.status.in_(("published", "closed")))
    return list(session.scalars(query.order_by(Activity.starts_at.desc(), Activity.id.desc()).limit(limit)))


def event_choices(session: Session, limit: int = 50) -> list[MatchEvent]:
    query = select(MatchEvent).where(MatchEvent.status.in_(("published", "closed")))
    return list(
        session.scalars(query.order_by(MatchEvent.starts_at.desc(), MatchEvent.id.desc()).limit(limit))
    )
