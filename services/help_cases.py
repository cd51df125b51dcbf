"""Help cases: crises (urgent), 12355 callback requests and hand-offs to a person.

Opening a case is idempotent per (kind, source message): a retry or a double tap cannot open two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.models import HelpCase

TRANSCRIPT_LIMIT = 50


@dataclass(frozen=True, slots=True)
class CaseRef:
    id: int
    created: bool


def _open(session: Session, case: HelpCase) -> CaseRef:
    session.add(case)
    try:
        session.commit()
        return CaseRef(case.id, True)
    except IntegrityError:
        session.rollback()
        existing = session.scalars(
            select(HelpCase).where(HelpCase.kind == case.kind, HelpCase.source_key == case.source_key)
        ).one()
        return CaseRef(existing.id, False)


def open_crisis_case(
    session: Session,
    openid: str,
    source_key: str,
    category: str,
    evidence: str,
    transcript: list[dict[str, Any]],
) -> CaseRef:
    case = HelpCase(
        openid=openid,
        kind="crisis",
        category=category,
        urgent=True,
        source_key=source_key,
        evidence=evidence[:200],
        transcript=transcript[-TRANSCRIPT_LIMIT:],
    )
    return _open(session, case)


def open_human_case(
    session: Session, openid: str, source_key: str, transcript: list[dict[str, Any]]
) -> CaseRef:
    """Queue a person for staff; one open hand-off per person is enough."""
    existing = session.scalars(
        select(HelpCase).where(HelpCase.openid == openid, HelpCase.kind == "human", HelpCase.status == "open")
    ).first()
    if existing is not None:
        # Staff already have the history; only what was said since joins the case.
        existing.transcript = (list(existing.transcript) + transcript[-1:])[-TRANSCRIPT_LIMIT:]
        session.commit()
        return CaseRef(existing.id, False)
    return _open(
        session,
        HelpCase(
            openid=openid, kind="human", source_key=source_key, transcript=transcript[-TRANSCRIPT_LIMIT:]
        ),
    )


def request_callback(
    session: Session,
    openid: str,
    source_key: str,
    *,
    category: str | None,
    age_band: str,
    guardian_consent: bool | None,
    phone: str,
    preferred_time: str,
) -> CaseRef:
    if age_band == "under14" and not guardian_consent:
        raise ValueError("a callback for a child under 14 needs a guardian's consent first")
    case = HelpCase(
        openid=openid,
        kind="callback",
        category=category,
        source_key=source_key,
        age_band=age_band,
        guardian_consent=guardian_consent,
        contact_phone=phone,
        preferred_time=preferred_time[:100],
        transcript=[],
    )
    return _open(session, case)


def append_to_case(session: Session, case_id: int, entries: list[dict[str, Any]]) -> None:
    case = session.get(HelpCase, case_id)
    if case is None or case.status != "open":
        return
    case.transcript = (list(case.transcript) + entries)[-TRANSCRIPT_LIMIT:]
    session.commit()


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"
