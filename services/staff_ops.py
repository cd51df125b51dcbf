"""Staff actions on traineeships and activities: the role is checked here (not only at the route) and every
action lands in the audit log, naming the staff member and the record.

The domain functions commit their own transaction; the audit row is written right after the action has
committed, so the log never names a change that was rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from services import activities, audit, notices, traineeships
from services.audit import actor_of
from services.common import guarded, retry_locked
from services.errors import InvalidTransition, NotFound
from services.importing import ImportReport
from services.models import Activity, Application, Signup, Traineeship, User
from services.models_staff import StaffUser
from services.staff import ensure_role

T = TypeVar("T")
EDIT = ("editor",)


def perform(
    session: Session,
    staff: StaffUser,
    action: str,
    target: Callable[[T], str],
    work: Callable[[str], T],
    *,
    roles: tuple[str, ...] = EDIT,
    detail: dict[str, Any] | None = None,
) -> T:
    """Check the role, run `work(actor)`, then audit `action` on `target(result)`."""
    ensure_role(staff, *roles)
    actor = actor_of(staff)
    result = work(actor)
    audit.record(session, actor, action, target(result), detail)
    return result


def reason_detail(reason: str | None) -> dict[str, Any] | None:
    """The audit detail of an action whose reason is optional: the reason when staff gave one."""
    return {"reason": reason} if reason else None


# -- traineeships ------------------------------------------------------------------------------------------
def _post(post: Traineeship) -> str:
    return f"traineeship:{post.id}"


def create_traineeship(session: Session, staff: StaffUser, data: dict[str, Any]) -> Traineeship:
    return perform(
        session,
        staff,
        "traineeship.create",
        _post,
        lambda a: traineeships.create_traineeship(session, data, a),
    )


def update_traineeship(session: Session, staff: StaffUser, post_id: int, data: dict[str, Any]) -> Traineeship:
    return perform(
        session,
        staff,
        "traineeship.update",
        _post,
        lambda a: traineeships.update_traineeship(session, post_id, data, a),
        detail={"fields": sorted(data)},
    )


def publish_traineeship(session: Session, staff: StaffUser, post_id: int) -> Traineeship:
    return perform(
        session,
        staff,
        "traineeship.publish",
        _post,
        lambda a: traineeships.publish_traineeship(session, post_id, a),
    )


def close_traineeship(
    session: Session, staff: StaffUser, post_id: int, reason: str | None = None
) -> Traineeship:
    return perform(
        session,
        staff,
        "traineeship.close",
        _post,
        lambda a: traineeships.close_traineeship(session, post_id, a, reason),
        detail=reason_detail(reason),
    )


def set_application_status(
    session: Session, staff: StaffUser, application_id: int, status: str, note: str | None = None
) -> Application:
    return perform(
        session,
        staff,
        "application.status",
        lambda app: f"application:{app.id}",
        lambda a: traineeships.set_application_status(session, application_id, status, actor=a, note=note),
        detail={"status": status, "note": note} if note else {"status": status},
    )


def import_traineeships(
    session: Session,
    staff: StaffUser,
    rows: list[dict[str, Any]],
    progress: Callable[[int], None] | None = None,
    *,
    publish: bool = False,
    filename: str = "",
) -> ImportReport:
    ensure_role(staff, *EDIT)
    actor = actor_of(staff)
    report = traineeships.import_traineeships(session, rows, actor, progress, publish=publish)
    audit.record(
        session,
        actor,
        "traineeship.import",
        f"file:{filename[:90]}",
        {"rows": len(rows), "created": len(report.created), "errors": len(report.errors), "publish": publish},
    )
    return report


def export_applications(session: Session, staff: StaffUser, post_id: int, fmt: str) -> bytes:
    """Full phone numbers leave the system here, so the export itself is audited."""
    return perform(
        session,
        staff,
        "application.export",
        lambda _: f"traineeship:{post_id}",
        lambda _a: traineeships.export_applications(session, post_id, fmt),
        detail={"format": fmt},
    )


# -- activities --------------------------------------------------------------------------------------------
def _activity(activity: Activity) -> str:
    return f"activity:{activity.id}"


def create_activity(session: Session, staff: StaffUser, data: dict[str, Any]) -> Activity:
    return perform(
        session, staff, "activity.create", _activity, lambda a: activities.create_activity(session, data, a)
    )


def update_activity(session: Session, staff: StaffUser, activity_id: int, data: dict[str, Any]) -> Activity:
    return perform(
        session,
        staff,
        "activity.update",
        _activity,
        lambda a: activities.update_activity(session, activity_id, data, a),
        detail={"fields": sorted(data)},
    )


def publish_activity(session: Session, staff: StaffUser, activity_id: int) -> Activity:
    return perform(
        session,
        staff,
        "activity.publish",
        _activity,
        lambda a: activities.publish_activity(session, activity_id, a),
    )


def close_activity(
    session: Session, staff: StaffUser, activity_id: int, reason: str | None = None
) -> Activity:
    return perform(
        session,
        staff,
        "activity.close",
        _activity,
        lambda a: activities.close_activity(session, activity_id, a, reason),
        detail=reason_detail(reason),
    )


def cancel_activity(
    session: Session, staff: StaffUser, activity_id: int, reason: str | None = None
) -> Activity:
    return perform(
        session,
        staff,
        "activity.cancel",
        _activity,
        lambda a: activities.cancel_activity(session, activity_id, a, reason),
        detail=reason_detail(reason),
    )


def export_signups(session: Session, staff: StaffUser, activity_id: int, fmt: str) -> bytes:
    return perform(
        session,
        staff,
        "signup.export",
        lambda _: f"activity:{activity_id}",
        lambda _a: activities.export_signups(session, activity_id, fmt),
        detail={"format": fmt},
    )


@retry_locked
def _release(session: Session, signup_id: int, actor: str, reason: str | None) -> Signup:
    def work() -> Signup:
        signup = session.get(Signup, signup_id, with_for_update=True, populate_existing=True)
        if signup is None:
            raise NotFound("没有找到这条报名。")
        if signup.status not in activities.LIVE:
            raise InvalidTransition("这条报名已经取消了。")
        activities.release_signup(session, signup, actor, reason)
        user = session.get(User, signup.user_id)
        activity = session.get(Activity, signup.activity_id)
        if user is not None and activity is not None:
            body = f"您报名的活动「{activity.title}」的名额已被工作人员取消。" + (
                f"说明：{reason}" if reason else ""
            )
            notices.queue(session, user, "signup_cancelled", "活动报名变更", body, f"signup:{signup.id}")
        return signup

    signup = guarded(session, work)
    session.expire_all()  # release_signup's conditional UPDATEs bypassed the identity map
    return signup


def cancel_signup(session: Session, staff: StaffUser, signup_id: int, reason: str | None = None) -> Signup:
    """Staff take a person off an activity (no-show history, duplicate…): the seat passes to the waitlist
    and the person is told why."""
    return perform(
        session,
        staff,
        "signup.cancel",
        lambda s: f"signup:{s.id}",
        lambda a: _release(session, signup_id, a, reason),
        detail=reason_detail(reason),
    )
