"""The route table: one decorator registers a view on the blueprint AND describes it for the OpenAPI document.

`@operation("POST", "/api/v1/traineeships/{traineeship_id}/applications", body=ApplyIn, response=...)`
declares path, method, request/query/response models, whether a login is needed, whether the call writes
(rate-limited per user) or needs consent, and the error statuses it may answer. The wrapper does the
common work — authentication, rate limits, JSON parsing and validation — so views only call services.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import BaseModel, ValidationError

from miniprogram_api import security
from miniprogram_api.errors import ApiError, handle_exception
from miniprogram_api.schemas import MAX_ID, chinese_errors

bp = Blueprint("miniprogram_api", __name__)
bp.register_error_handler(Exception, handle_exception)

_PARAM = re.compile(r"{(\w+)}")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # OpenAPI form: /api/v1/traineeships/{traineeship_id}
    summary: str
    endpoint: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    also: dict[int, type[BaseModel]] = field(default_factory=dict)  # other success statuses
    auth: bool = True
    write: bool = False
    login: bool = False
    consent: bool = False
    errors: tuple[int, ...] = ()

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def error_statuses(self) -> list[int]:
        statuses = set(self.errors) | {500}
        if self.auth:
            statuses.add(401)
        if self.consent:
            statuses.add(403)
        if self.body is not None:
            statuses |= {400, 413, 415, 422}
        if self.query is not None:
            statuses.add(422)
        if self.path_params:
            statuses.add(404)
        if self.write or self.login:
            statuses.add(429)
        return sorted(statuses)


OPERATIONS: list[Operation] = []

Result = BaseModel | tuple[BaseModel, int] | None


def operation(method: str, path: str, summary: str, **options: Any) -> Callable[[Callable[..., Result]], Any]:
    def decorator(fn: Callable[..., Result]) -> Callable[..., Result]:
        op = Operation(method=method, path=path, summary=summary, endpoint=fn.__name__, **options)
        OPERATIONS.append(op)
        rule = _PARAM.sub(r"<int:\1>", path)
        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=_view(op, fn), methods=[method])
        return fn

    return decorator


def _view(op: Operation, fn: Callable[..., Result]) -> Callable[..., Response]:
    def view(**path_values: int) -> Response:
        settings = current_app.config["SETTINGS"]
        kwargs: dict[str, Any] = {}
        for name, value in path_values.items():
            if not 1 <= value <= MAX_ID:
                raise ApiError(404, "not_found", "找不到该资源")
            kwargs[name] = value
        if op.login:
            security.rate_limit("login", security.client_ip(), settings.API_LOGIN_RATE_PER_MINUTE)
        if op.auth:
            user = security.authenticate()
            kwargs["user"] = user
            if op.write:
                security.rate_limit("write", str(user.id), settings.API_WRITE_RATE_PER_MINUTE)
            if op.consent:
                security.require_consent(user)
        if op.query is not None:
            # An empty parameter (`?cursor=`) means "not given", as miniprogram code tends to send it.
            args = {name: value for name, value in request.args.items() if value != ""}
            kwargs["query"] = validate(op.query, args)
        if op.body is not None:
            kwargs["body"] = validate(op.body, json_body())
        return _respond(op, fn(**kwargs))

    view.__name__ = fn.__name__
    return view


def json_body() -> Any:
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "请使用 application/json 格式提交")
    raw = request.get_data(cache=True)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_json", "请求内容不是有效的 JSON") from None


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "validation_error", "填写的信息有误，请检查后重试", chinese_errors(exc)) from None


def _respond(op: Operation, result: Result) -> Response:
    if result is None:
        assert op.status == 204, f"{op.endpoint} returns no content: declare status=204"
        return Response(status=204)
    status = op.status
    if isinstance(result, tuple):
        result, status = result
    response = jsonify(result.model_dump(mode="json"))
    response.status_code = status
    return response
