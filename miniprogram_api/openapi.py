"""`GET /api/openapi.json`: the OpenAPI 3.1 document, generated from the route table and the pydantic schemas.

Nothing here is written by hand twice: paths, methods, parameters and statuses come from `OPERATIONS`
(filled by `@operation`), schemas from the same models that validate requests and build responses.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Response, jsonify
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from miniprogram_api.errors import DOMAIN_STATUS, HTTP_ERRORS
from miniprogram_api.registry import OPERATIONS, Operation, bp
from miniprogram_api.schemas import MAX_ID, ErrorEnvelope

REF = "#/components/schemas/{model}"

DESCRIPTION = (
    "共青团区委小程序接口。登录：`POST /api/v1/auth/login` 换取令牌，"
    "之后以 `Authorization: Bearer <token>` 调用。"
    '所有错误均为 `{"error": {"code", "message", "fields"?}}`。业务错误与状态码：'
    + "，".join(f"`{code}` → {status}" for code, status in DOMAIN_STATUS.items())
    + "。"
)


def _strip_null(schema: dict[str, Any]) -> dict[str, Any]:
    """Query parameters are absent rather than null."""
    options = schema.get("anyOf")
    if options:
        rest = [o for o in options if o.get("type") != "null"]
        if len(rest) == 1:
            merged = {k: v for k, v in schema.items() if k != "anyOf"}
            merged.update(rest[0])
            schema = merged
    schema.pop("title", None)
    if schema.get("default") is None:
        schema.pop("default", None)
    return schema


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        }
        for name in op.path_params
    ]
    if op.query is not None:
        schema = op.query.model_json_schema(mode="validation")
        for name, prop in schema["properties"].items():
            entry: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": False,
                "schema": _strip_null(prop),
            }
            if "description" in prop:
                entry["description"] = prop.pop("description")
            params.append(entry)
    return params


def _content(ref: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": ref}}


def _models() -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    seen: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorEnvelope, "serialization")]
    for op in OPERATIONS:
        if op.body is not None:
            seen.append((op.body, "validation"))
        for model in [op.response, *op.also.values()]:
            if model is not None:
                seen.append((model, "serialization"))
    return list(dict.fromkeys(seen))


@cache
def document() -> dict[str, Any]:
    refs, defs = models_json_schema(_models(), ref_template=REF)
    error_ref = refs[(ErrorEnvelope, "serialization")]
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        responses: dict[str, Any] = {}
        successes = {op.status: op.response, **op.also}
        for status, model in sorted(successes.items()):
            if model is None:
                responses[str(status)] = {"description": "成功（无内容）"}
            else:
                responses[str(status)] = {
                    "description": "成功",
                    "content": _content(refs[(model, "serialization")]),
                }
        for status in op.error_statuses:
            description = HTTP_ERRORS.get(status, ("error", "错误"))[1]
            entry: dict[str, Any] = {"description": description, "content": _content(error_ref)}
            if status == 429:
                entry["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "秒"}}
            responses[str(status)] = entry
        spec: dict[str, Any] = {
            "operationId": op.endpoint,
            "summary": op.summary,
            "parameters": _parameters(op),
            "responses": responses,
        }
        if op.body is not None:
            spec["requestBody"] = {"required": True, "content": _content(refs[(op.body, "validation")])}
        if op.auth:
            spec["security"] = [{"bearer": []}]
        paths.setdefault(op.path, {})[op.method.lower()] = spec
    return {
        "openapi": "3.1.0",
        "info": {"title": "Youth League miniprogram API", "version": "1.0.0", "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@bp.get("/api/openapi.json")
def openapi_json() -> Response:
    return jsonify(document())
