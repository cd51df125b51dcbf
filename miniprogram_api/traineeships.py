"""`/api/v1/traineeships` and `/api/v1/me/applications`: list, detail, apply, mine, withdraw."""

from __future__ import annotations

from bot.extensions import db
from miniprogram_api.present import application_out, traineeship_out
from miniprogram_api.registry import operation
from miniprogram_api.schemas import (
    ApplicationList,
    ApplicationOut,
    ApplyIn,
    TraineeshipOut,
    TraineeshipPage,
    TraineeshipQuery,
)
from services import traineeships
from services.models import User


@operation(
    "GET",
    "/api/v1/traineeships",
    "就业见习岗位（最新发布的在前；可按关键词、区域、领域、学历、补贴筛选）",
    query=TraineeshipQuery,
    response=TraineeshipPage,
    auth=False,
)
def list_traineeships(query: TraineeshipQuery) -> TraineeshipPage:
    filters = traineeships.TraineeshipFilter(
        keyword=query.keyword,
        district=query.district,
        field=query.field,
        education=query.education,
        min_stipend=query.min_stipend,
    )
    page = traineeships.list_traineeships(db.session(), filters, limit=query.limit, cursor=query.cursor)
    return TraineeshipPage(items=[traineeship_out(p) for p in page.items], next_cursor=page.next_cursor)


@operation(
    "GET", "/api/v1/traineeships/{traineeship_id}", "见习岗位详情", response=TraineeshipOut, auth=False
)
def get_traineeship(traineeship_id: int) -> TraineeshipOut:
    return traineeship_out(traineeships.get_traineeship(db.session(), traineeship_id))


@operation(
    "POST",
    "/api/v1/traineeships/{traineeship_id}/applications",
    "申请见习岗位（201 新申请；200 已有申请，重复提交不会产生第二份）",
    body=ApplyIn,
    response=ApplicationOut,
    status=201,
    also={200: ApplicationOut},
    write=True,
    consent=True,
    errors=(403, 409),
)
def apply(user: User, traineeship_id: int, body: ApplyIn) -> tuple[ApplicationOut, int]:
    application, created = traineeships.apply(db.session(), user, traineeship_id, **body.model_dump())
    return application_out(db.session(), application), 201 if created else 200


@operation("GET", "/api/v1/me/applications", "我的见习申请", response=ApplicationList)
def my_applications(user: User) -> ApplicationList:
    items = traineeships.my_applications(db.session(), user)
    return ApplicationList(items=[application_out(db.session(), a) for a in items])


@operation(
    "POST",
    "/api/v1/me/applications/{application_id}/withdraw",
    "撤回我的申请",
    response=ApplicationOut,
    write=True,
    errors=(409,),
)
def withdraw(user: User, application_id: int) -> ApplicationOut:
    return application_out(db.session(), traineeships.withdraw(db.session(), user, application_id))
