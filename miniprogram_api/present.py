"""Models → response schemas. Nothing here decides anything: it only chooses what a client may see."""

from __future__ import annotations

from sqlalchemy.orm import Session

from miniprogram_api.schemas import (
    ActivityOut,
    ApplicationOut,
    NoticeOut,
    SignupOut,
    TraineeshipOut,
    UserOut,
)
from services import activities, traineeships
from services.errors import NotFound
from services.help_cases import mask_phone
from services.models import Activity, Application, Signup, Traineeship, User, UserNotice


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        nickname=user.nickname,
        age_band=user.age_band,  # type: ignore[arg-type]
        birth_year=user.birth_year,
        district=user.district,
        education=user.education,  # type: ignore[arg-type]
        phone_masked=mask_phone(user.phone) or None,
        privacy_consent=user.privacy_consent_at is not None,
        guardian_consent=user.guardian_consent_at is not None,
        created_at=user.created_at,
    )


def traineeship_out(post: Traineeship) -> TraineeshipOut:
    return TraineeshipOut.model_validate(post)


def activity_out(activity: Activity) -> ActivityOut:
    data = {name: getattr(activity, name) for name in ActivityOut.model_fields if name != "seats_left"}
    return ActivityOut(**data, seats_left=activities.seats_left(activity))


def application_out(session: Session, application: Application) -> ApplicationOut:
    try:
        title: str | None = traineeships.get_traineeship(
            session, application.traineeship_id, include_unpublished=True
        ).title
    except NotFound:
        title = None
    return ApplicationOut(
        id=application.id,
        traineeship_id=application.traineeship_id,
        traineeship_title=title,
        status=application.status,  # type: ignore[arg-type]
        note=application.note,
        name=application.name,
        phone_masked=mask_phone(application.phone),
        school=application.school,
        major=application.major,
        graduation_year=application.graduation_year,
        created_at=application.created_at,
        updated_at=application.updated_at,
    )


def signup_out(session: Session, signup: Signup) -> SignupOut:
    try:
        activity: ActivityOut | None = activity_out(
            activities.get_activity(session, signup.activity_id, include_unpublished=True)
        )
    except NotFound:
        activity = None
    return SignupOut(
        id=signup.id,
        activity_id=signup.activity_id,
        status=signup.status,  # type: ignore[arg-type]
        activity=activity,
        updated_at=signup.updated_at,
    )


def notice_out(notice: UserNotice) -> NoticeOut:
    return NoticeOut.model_validate(notice)
