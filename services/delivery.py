"""The delivery engine's public face: create a notice for an audience, follow its progress, cancel it.

Every push (a reminder, a status notice, a staff broadcast) is one `Notice` and one `Outbox` row per
recipient, unique per (notice, user). Workers (`services/delivery_worker.py`, `flask --app bot delivery
work`) claim rows, choose a channel per recipient, send, and record the outcome row by row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Select, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services import delivery_templates
from services.errors import Invalid, NotFound
from services.models_delivery import Notice, Outbox

KINDS_MAX = 32


@dataclass(frozen=True, slots=True)
class NoticeProgress:
    """Where a notice stands. `failed` and `skipped` count rows by error code or reason."""

    notice_id: int
    status: str  # active | cancelled
    total: int
    pending: int
    sending: int
    sent: int
    failed: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    sent_by_channel: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """No row is waiting or in flight: every recipient has an outcome."""
        return self.pending == 0 and self.sending == 0


def _now() -> datetime:
    return datetime.now(UTC)


def create_notice(
    session: Session,
    *,
    kind: str,
    title: str,
    body: str,
    audience: Sequence[int] | Select[tuple[int]],
    template: str | None = None,
    values: Mapping[str, str] | None = None,
    page: str | None = None,
    urgent: bool = False,
    created_by: str,
    scheduled_at: datetime | None = None,
    dedup_key: str | None = None,
) -> Notice:
    """One durable notice and one pending outbox row per distinct recipient (user id); commits.

    `audience` is a list of user ids or a `select(User.id)…` (run inside the database as INSERT … SELECT,
    so 100,000 recipients take one statement). `template` names an entry of content/templates.toml (used
    for subscription and template messages; without it only customer-service messages can carry the
    notice). `values` fill the template's fields ("activity", "start", …); `title`/`body` are always
    available as values too. Rows are not sent before `scheduled_at` (default now); non-urgent rows wait
    out quiet hours. `dedup_key` is unique: a second call with the same key returns the existing notice
    unchanged (so a reminder such as "reminder:signup:12:24h" is never created twice).
    Raises `Invalid` for an unknown template or an empty title/body.
    """
    problems: dict[str, str] = {}
    if not title.strip():
        problems["title"] = "请填写标题"
    if not body.strip():
        problems["body"] = "请填写内容"
    if not kind or len(kind) > KINDS_MAX:
        problems["kind"] = "类型无效"
    if template is not None and delivery_templates.get(template) is None:
        problems["template"] = "没有这个消息模板"
    if problems:
        raise Invalid("通知内容不完整。", fields=problems)
    if dedup_key is not None:
        existing = session.scalar(select(Notice).where(Notice.dedup_key == dedup_key))
        if existing is not None:
            return existing

    when = scheduled_at or _now()
    notice = Notice(
        kind=kind,
        title=title[:100],
        body=body,
        template=template,
        values=dict(values or {}),
        page=page,
        urgent=urgent,
        created_by=created_by,
        scheduled_at=when,
        dedup_key=dedup_key,
        status="active",
    )
    try:
        with session.begin_nested():
            session.add(notice)
            session.flush()
    except IntegrityError:
        # A concurrent call with the same dedup_key won the race: theirs is the notice.
        session.rollback()
        existing = session.scalar(select(Notice).where(Notice.dedup_key == dedup_key))
        if existing is None:
            raise
        return existing
    total = _insert_recipients(session, notice.id, audience, when, urgent)
    notice.total = total
    session.commit()
    return notice


def _insert_recipients(
    session: Session,
    notice_id: int,
    audience: Sequence[int] | Select[tuple[int]],
    when: datetime,
    urgent: bool,
) -> int:
    """Bulk insert: the database copies a SELECT; a list goes as one executemany of plain tuples."""
    if isinstance(audience, Select):
        recipients = audience.subquery()
        user_col = recipients.c[0]
        stmt = insert(Outbox).from_select(
            ["notice_id", "user_id", "status", "next_attempt_at", "urgent", "attempts"],
            select(
                literal(notice_id), user_col, literal("pending"), literal(when), literal(urgent), literal(0)
            ).distinct(),
        )
        session.execute(stmt)
        return int(session.scalar(select(func.count()).where(Outbox.notice_id == notice_id)) or 0)
    ids = sorted({int(uid) for uid in audience})
    if ids:
        session.execute(
            insert(Outbox),
            [
                {
                    "notice_id": notice_id,
                    "user_id": uid,
                    "status": "pending",
                    "next_attempt_at": when,
                    "urgent": urgent,
                    "attempts": 0,
                }
                for uid in ids
            ],
        )
    return len(ids)


def get_notice(session: Session, notice_id: int) -> Notice:
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NotFound("没有找到这条通知。")
    return notice


def notice_progress(session: Session, notice_id: int) -> NoticeProgress:
    """Counts per status, failures by error code (or reason), skips by reason, sends by channel."""
    notice = get_notice(session, notice_id)
    rows = session.execute(
        select(Outbox.status, Outbox.channel, Outbox.error_code, Outbox.reason, func.count())
        .where(Outbox.notice_id == notice_id)
        .group_by(Outbox.status, Outbox.channel, Outbox.error_code, Outbox.reason)
    ).all()
    counts = {"pending": 0, "sending": 0, "sent": 0}
    failed: dict[str, int] = {}
    skipped: dict[str, int] = {}
    by_channel: dict[str, int] = {}
    total = 0
    for status, channel, code, reason, n in rows:
        total += n
        if status in counts:
            counts[status] += n
        if status == "sent":
            by_channel[channel or "none"] = by_channel.get(channel or "none", 0) + n
        elif status == "failed":
            key = str(code) if code is not None else (reason or "unknown")
            failed[key] = failed.get(key, 0) + n
        elif status == "skipped":
            key = reason or "unknown"
            skipped[key] = skipped.get(key, 0) + n
    return NoticeProgress(
        notice_id=notice.id,
        status=notice.status,
        total=total,
        pending=counts["pending"],
        sending=counts["sending"],
        sent=counts["sent"],
        failed=failed,
        skipped=skipped,
        sent_by_channel=by_channel,
    )


def cancel_notice(session: Session, notice_id: int, actor: str) -> Notice:
    """Stop a notice: rows not yet sent become `skipped` with reason `cancelled` (commits).

    Rows a worker has already claimed (`sending`) finish their attempt and are recorded as they end:
    at most one batch per worker, and the worker checks the notice before each send.
    """
    notice = get_notice(session, notice_id)
    if notice.status == "cancelled":
        return notice
    notice.status = "cancelled"
    notice.cancelled_by = actor[:64]
    notice.cancelled_at = _now()
    session.execute(
        update(Outbox)
        .where(Outbox.notice_id == notice_id, Outbox.status == "pending")
        .values(status="skipped", reason="cancelled", leased_until=None, lease_owner=None)
    )
    session.commit()
    return notice


def list_notices(
    session: Session,
    *,
    kind: str | None = None,
    created_by: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[Notice]:
    """Newest first; for the console's broadcast list."""
    stmt = select(Notice).order_by(Notice.id.desc()).limit(max(1, min(limit, 100))).offset(max(offset, 0))
    if kind is not None:
        stmt = stmt.where(Notice.kind == kind)
    if created_by is not None:
        stmt = stmt.where(Notice.created_by == created_by)
    return list(session.scalars(stmt))
