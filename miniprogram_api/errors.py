"""One error envelope for every 4xx/5xx under `/api`: `{"error": {"code", "message", "fields"?}}`.

Domain errors map to HTTP statuses in `DOMAIN_STATUS`, the one table of that mapping. Unexpected errors are
logged here with their traceback and reach the client as a generic Chinese message, never a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

API_PREFIX = "/api/"

# services.errors.DomainError.code -> HTTP status. Codes not listed here are 400.
DOMAIN_STATUS: dict[str, int] = {
    "not_found": 404,  # missing, unpublished, or another user's object: never tell which
    "not_eligible": 403,  # authenticated, but this person may not (age, education, district)
    "closed": 409,  # unpublished, closed or cancelled listing/activity
    "deadline_passed": 409,
    "invalid_transition": 409,  # e.g. withdrawing a decided application
    "invalid": 422,  # field validation in the services, with per-field messages
}

# Werkzeug's HTTP errors -> (code, Chinese message) for the envelope.
HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式不正确"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "没有权限进行此操作"),
    404: ("not_found", "找不到该资源"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "请使用 application/json 格式提交"),
    429: ("rate_limited", "操作太频繁，请稍后再试"),
    500: ("internal_error", "服务暂时出了点问题，请稍后再试"),
    503: ("unavailable", "服务暂时不可用，请稍后再试"),
}


class ApiError(Exception):
    """An error the API answers with the envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}


def envelope(
    status: int,
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify({"error": body})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_domain(exc: Exception) -> ApiError:
    code = str(getattr(exc, "code", "invalid"))
    message = str(getattr(exc, "message", "") or "请求无法完成")
    fields = getattr(exc, "fields", None) or None
    return ApiError(
        DOMAIN_STATUS.get(code, 400),
        code,
        message,
        {str(k): str(v) for k, v in fields.items()} if fields else None,
    )


def http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    code, message = HTTP_ERRORS.get(status, ("http_error", "请求无法完成"))
    headers: dict[str, str] = {}
    valid_methods = getattr(exc, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    return envelope(status, code, message, headers=headers)


def handle_exception(exc: Exception) -> Response:
    """Everything raised inside an API view ends here."""
    if isinstance(exc, ApiError):
        return envelope(exc.status, exc.code, exc.message, exc.fields, exc.headers)
    if isinstance(exc, HTTPException):
        return http_error(exc)
    from services.errors import DomainError

    if isinstance(exc, DomainError):
        err = from_domain(exc)
        return envelope(err.status, err.code, err.message, err.fields)
    log.exception("unexpected error in %s %s", request.method, request.path)
    code, message = HTTP_ERRORS[500]
    return envelope(500, code, message)


def init_app(app: Flask) -> None:
    """Routing errors (unknown path, wrong method) happen before any blueprint is chosen: catch them app-wide,
    but only answer with the envelope under `/api/`; other doors keep their own error pages."""

    def routing_error(exc: HTTPException) -> Any:
        if request.path.startswith(API_PREFIX):
            return http_error(exc)
        return exc

    app.register_error_handler(404, routing_error)
    app.register_error_handler(405, routing_error)
