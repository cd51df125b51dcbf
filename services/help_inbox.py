"""Staff handling of help cases: the inbox order, transcripts (crisis ones for counselors only), assigning,
notes, replies through WeChat's customer-service message, closing with an outcome. Opening cases stays in
`services/help_cases.py`. Every action checks the role here and lands in the audit log with the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from bot import content
from services import audit
from services.eligibility import aware, utcnow
from services.errors import DomainError, Invalid, InvalidTransition, NotFound
from services.help_cases import TRANSCRIPT_LIMIT
from services.models import HelpCase, MessageLog
from services.models_staff import HelpCaseNote, StaffUser
from services.staff import ensure_crisis_reader, ensure_role, get_staff, has_role

KIND_LABELS = {"crisis": "危机", "callback": "回电请求", "human": "转人工"}
CRISIS_CATEGORY_LABELS = {
    "suicide": "自杀念头",
    "self_harm": "自伤",
    "abuse": "受到虐待",
    "sexual_assault": "性侵害",
    "threat": "伤人威胁",
}
OUTCOMES = {
    "supported": "已安抚并提供帮助",
    "referred_12355": "已转介 12355",
    "emergency": "已联系紧急救助（110/120/家长/学校）",
    "called_back": "已回电",
    "answered": "已答复",
    "no_response": "多次联系未回应",
    "mistaken": "误报/无需处理",
}
REPLY_MAX_CHARS = 600  # WeChat takes 2048 bytes of text; a staff reply should be far shorter anyway
NOTE_MAX_CHARS = 2000
_KIND_ORDER = case((HelpCase.kind == "crisis", 0), (HelpCase.kind == "callback", 1), else_=2)


class TextSender(Protocol):
    """What the inbox needs of the Official Account client (`OfficialAccountClient.send_text`)."""

    def send_text(self, openid: str, content: str) -> Any: ...


def category_label(help_case: HelpCase) -> str:
    """Crisis categories from the rules, 12355 topics from the help directory; the raw name otherwise."""
    if not help_case.category:
        return ""
    if help_case.kind == "crisis":
        return CRISIS_CATEGORY_LABELS.get(help_case.category, help_case.category)
    topic = content.help_directory().get("topics", {}).get(help_case.category, {})
    return str(topic.get("label") or help_case.category)


def _case(session: Session, case_id: int) -> HelpCase:
    found = session.get(HelpCase, case_id)
    if found is None:
        raise NotFound("没有找到这个求助。")
    return found


def _target(case_id: int) -> str:
    return f"help_case:{case_id}"


def open_cases(session: Session, staff: StaffUser) -> list[HelpCase]:
    """Crisis first, then callback requests, then hand-offs; oldest first within each (longest waiting)."""
    ensure_role(staff, "counselor")
    query = select(HelpCase).where(HelpCase.status == "open").order_by(_KIND_ORDER, HelpCase.created_at)
    return list(session.scalars(query))


def closed_cases(session: Session, staff: StaffUser, limit: int = 50) -> list[HelpCase]:
    ensure_role(staff, "counselor")
    query = select(HelpCase).where(HelpCase.status == "closed").order_by(HelpCase.closed_at.desc())
    return list(session.scalars(query.limit(limit)))


def crisis_since(session: Session, staff: StaffUser, after_id: int) -> list[HelpCase]:
    """Open crisis cases newer than `after_id`, for the inbox page's live feed."""
    ensure_role(staff, "counselor")
    query = select(HelpCase).where(
        HelpCase.kind == "crisis", HelpCase.status == "open", HelpCase.id > after_id
    )
    return list(session.scalars(query.order_by(HelpCase.id)))


def get_case(session: Session, staff: StaffUser, case_id: int) -> HelpCase:
    ensure_role(staff, "counselor")
    return _case(session, case_id)


def may_read_transcript(staff: StaffUser, help_case: HelpCase) -> bool:
    if help_case.kind == "crisis":
        return "counselor" in staff.role_set and staff.active
    return has_role(staff, "counselor")


@dataclass(frozen=True, slots=True)
class Line:
    role: str  # user | bot | staff
    text: str
    at: datetime | None


def transcript(session: Session, staff: StaffUser, help_case: HelpCase) -> list[Line]:
    """What was said: the case's record (the talk that opened it, later messages, staff replies), then what
    the person sent since that record's last line (from the message log). Crisis: counselors only."""
    if help_case.kind == "crisis":
        ensure_crisis_reader(staff)
    else:
        ensure_role(staff, "counselor")
    lines = [
        Line(str(e.get("role", "user")), str(e.get("text", "")), _from_epoch(e.get("at")))
        for e in help_case.transcript
    ]
    # Staff replies are stamped when sent: only the person's and the bot's lines mark how far the record goes.
    recorded = [line.at for line in lines if line.at is not None and line.role != "staff"]
    last = max(recorded, default=aware(help_case.created_at))
    said = {(line.text, line.at) for line in lines if line.role == "user"}
    rows = session.execute(
        select(MessageLog.content, MessageLog.created_at)
        .where(MessageLog.openid == help_case.openid, MessageLog.created_at > last)
        .where(MessageLog.msg_type.in_(("text", "voice")), MessageLog.content.is_not(None))
        .order_by(MessageLog.created_at)
        .limit(TRANSCRIPT_LIMIT)
    )
    for text, at in rows:
        if (text, aware(at)) not in said:
            lines.append(Line("user", text, aware(at)))
    return sorted(lines, key=lambda line: line.at or _EPOCH)


_EPOCH = datetime.fromtimestamp(0, tz=UTC)


def _from_epoch(value: Any) -> datetime | None:
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def notes(session: Session, staff: StaffUser, case_id: int) -> list[HelpCaseNote]:
    ensure_role(staff, "counselor")
    query = select(HelpCaseNote).where(HelpCaseNote.case_id == case_id).order_by(HelpCaseNote.id)
    return list(session.scalars(query))


def assign(session: Session, staff: StaffUser, case_id: int, username: str | None) -> HelpCase:
    """Give the case to a counselor (None: back to the shared queue)."""
    ensure_role(staff, "counselor")
    help_case = _case(session, case_id)
    if help_case.status != "open":
        raise InvalidTransition("这个求助已结案，不能再指派。")
    if username:
        assignee = get_staff(session, username)
        if not assignee.active or "counselor" not in assignee.role_set:
            raise Invalid(fields={"assigned_to": "只能指派给在岗的心理/帮扶老师。"})
    before = help_case.assigned_to
    help_case.assigned_to = username or None
    audit.stage(
        session, audit.actor_of(staff), "help_case.assign", _target(case_id), {"from": before, "to": username}
    )
    session.commit()
    return help_case


def add_note(session: Session, staff: StaffUser, case_id: int, body: str) -> HelpCaseNote:
    ensure_role(staff, "counselor")
    _case(session, case_id)
    body = body.strip()
    if not body:
        raise Invalid(fields={"note": "请填写备注内容。"})
    if len(body) > NOTE_MAX_CHARS:
        raise Invalid(fields={"note": f"备注最多 {NOTE_MAX_CHARS} 字。"})
    note = HelpCaseNote(case_id=case_id, kind="note", author=staff.username, body=body)
    session.add(note)
    audit.stage(session, audit.actor_of(staff), "help_case.note", _target(case_id), {"length": len(body)})
    session.commit()
    return note


def close(
    session: Session, staff: StaffUser, case_id: int, outcome: str, note: str | None = None
) -> HelpCase:
    ensure_role(staff, "counselor")
    help_case = _case(session, case_id)
    if outcome not in OUTCOMES:
        raise Invalid(fields={"outcome": "请选择处理结果。"})
    if help_case.status != "open":
        raise InvalidTransition("这个求助已经结案。")
    help_case.status = "closed"
    help_case.outcome = outcome
    help_case.closed_at = utcnow()
    help_case.closed_by = staff.username
    if note and note.strip():
        session.add(
            HelpCaseNote(case_id=case_id, kind="note", author=staff.username, body=note.strip()[:2000])
        )
    audit.stage(session, audit.actor_of(staff), "help_case.close", _target(case_id), {"outcome": outcome})
    session.commit()
    return help_case


class ReplyFailed(DomainError):
    code = "reply_failed"

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


WINDOW_CLOSED = (
    "对方的客服消息窗口已关闭（对方 48 小时内没有发消息，或 5 条回复已用完），无法直接回复。"
    "请等对方再次发消息，或按回电方式联系。"
)


def reply(session: Session, staff: StaffUser, case_id: int, text: str, sender: TextSender) -> HelpCaseNote:
    """Send `text` to the young person as a customer-service message and keep it on the case.

    WeChat allows this only inside the window the person's last message opened; the client refuses locally
    once it is closed or used up. The text is recorded only when WeChat accepted it.
    """
    ensure_role(staff, "counselor")
    help_case = _case(session, case_id)
    text = text.strip()
    if not text:
        raise Invalid(fields={"reply": "请填写回复内容。"})
    if len(text) > REPLY_MAX_CHARS:
        raise Invalid(fields={"reply": f"回复最多 {REPLY_MAX_CHARS} 字。"})
    result = sender.send_text(help_case.openid, text)
    if not result.ok:
        detail = {"errcode": result.errcode, "kind": str(result.kind), "local": result.local}
        audit.record(session, audit.actor_of(staff), "help_case.reply_failed", _target(case_id), detail)
        if result.errcode in (45015, 45047, 43004) or str(result.kind) == "recipient":
            raise ReplyFailed(WINDOW_CLOSED)
        raise ReplyFailed("消息没有发出去（微信接口暂时不可用），请稍后重试。")
    now = utcnow()
    note = HelpCaseNote(case_id=case_id, kind="reply", author=staff.username, body=text)
    session.add(note)
    entry = {"role": "staff", "text": text, "at": int(now.timestamp()), "by": staff.username}
    help_case.transcript = [*help_case.transcript, entry][-TRANSCRIPT_LIMIT:]
    if help_case.assigned_to is None:
        help_case.assigned_to = staff.username  # who answers first takes the case
    audit.stage(
        session,
        audit.actor_of(staff),
        "help_case.reply",
        _target(case_id),
        {"length": len(text), "msgid": result.msgid},
    )
    session.commit()
    return note
