"""The control API (`/sandbox/api/…`): set the sandbox up and look inside it, for tests and the simulator UI.

Plain JSON in and out; bad input is 400 `{"error": …}`, an unknown follower 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from sandbox.faults import Fault, check_endpoint
from sandbox.server import current_state, wx_json

bp = Blueprint("sandbox_control", __name__, url_prefix="/sandbox/api")


class BadInput(ValueError):
    """The request cannot be acted on; its message goes back to the caller."""


@bp.errorhandler(BadInput)
def bad_input(exc: BadInput) -> Response:
    return wx_json({"error": str(exc)}, status=400)


def _body() -> dict[str, Any]:
    # Any content type: curl users should not have to set one.
    data = request.get_json(force=True, silent=True) if request.get_data() else {}
    if not isinstance(data, dict):
        raise BadInput("the body must be a JSON object")
    return data


def _str(data: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise BadInput(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise BadInput(f"{name} must be a string")
    return value


def _int(value: object, name: str, default: int | None = None, minimum: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise BadInput(f"{name} must be an integer")
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise BadInput(f"{name} must be an integer") from None
    if minimum is not None and number < minimum:
        raise BadInput(f"{name} must be at least {minimum}")
    return number


def _not_found(openid: str) -> Response:
    return wx_json({"error": f"unknown openid {openid}"}, status=404)


# -- followers -------------------------------------------------------------------------------------------
@bp.get("/followers")
def list_followers() -> Response:
    state = current_state()
    now = state.now()
    return wx_json({"followers": [f.to_dict(now) for f in state.followers()]})


@bp.post("/followers")
def create_follower() -> Response:
    data = _body()
    state = current_state()
    openid = _str(data, "openid")
    existed = openid is not None and state.follower(openid) is not None
    follower = state.add_follower(openid, _str(data, "nickname"), unionid=_str(data, "unionid"))
    return wx_json(follower.to_dict(state.now()), status=200 if existed else 201)


@bp.get("/followers/<openid>")
def get_follower(openid: str) -> Response:
    state = current_state()
    follower = state.follower(openid)
    return wx_json(follower.to_dict(state.now())) if follower else _not_found(openid)


@bp.post("/followers/<openid>/interactions")
def interact(openid: str) -> Response:
    """Open the customer-service window as a message (`{"kind": "message"}`) or event would."""
    state = current_state()
    kind = _str(_body(), "kind") or "message"
    if kind not in ("message", "event"):
        raise BadInput("kind must be message or event")
    if state.follower(openid) is None:
        return _not_found(openid)
    return wx_json(state.user_interacted(openid, kind).to_dict(state.now()))  # type: ignore[arg-type]


@bp.get("/followers/<openid>/timeline")
def timeline(openid: str) -> Response:
    state = current_state()
    if not state.knows(openid):
        return _not_found(openid)
    after = _int(request.args.get("after"), "after", 0) or 0
    return wx_json({"openid": openid, "entries": [e.to_dict() for e in state.timeline(openid, after)]})


# -- the record, credits, codes, tokens, templates -----------------------------------------------------------
@bp.get("/sent")
def sent() -> Response:
    args = request.args
    after = _int(args.get("after"), "after", 0) or 0
    messages = current_state().sent(
        api=args.get("api") or None, openid=args.get("openid") or None, after=after
    )
    return wx_json({"sent": [m.to_dict() for m in messages]})


@bp.post("/credits")
def grant_credits() -> Response:
    data = _body()
    openid = _str(data, "openid", required=True) or ""
    template_id = _str(data, "template_id", required=True) or ""
    count = _int(data.get("count"), "count", 1, minimum=1) or 1
    state = current_state()
    state.grant_credit(openid, template_id, count)
    return wx_json({"openid": openid, "credits": state.credits(openid)})


@bp.post("/login-codes")
def login_code() -> Response:
    data = _body()
    state = current_state()
    appid = _str(data, "appid") or state.config.mp_appid()
    if appid is None:
        raise BadInput("no miniprogram app is configured; pass appid")
    if state.app_kind(appid) != "mp":
        raise BadInput(f"{appid} is not a miniprogram appid of this sandbox")
    code, openid = state.issue_login_code(appid, _str(data, "openid"), _str(data, "unionid"))
    return wx_json({"code": code, "openid": openid, "appid": appid}, status=201)


@bp.post("/phone-codes")
def phone_code() -> Response:
    phone = _str(_body(), "phone", required=True) or ""
    return wx_json({"code": current_state().issue_phone_code(phone), "phone": phone}, status=201)


@bp.post("/tokens/expire")
def expire_tokens() -> Response:
    return wx_json({"expired": current_state().expire_tokens(_str(_body(), "appid"))})


@bp.get("/templates")
def list_templates() -> Response:
    return wx_json({"templates": current_state().templates()})


@bp.post("/templates")
def register_template() -> Response:
    data = _body()
    fields = data.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise BadInput('fields must be an object like {"thing1": "thing"}')
    try:
        template = current_state().register_template(
            _str(data, "template_id", required=True) or "",
            _str(data, "kind", required=True) or "",
            fields,
            _str(data, "title"),
        )
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    return wx_json({"template_id": data["template_id"], **template}, status=201)


@bp.get("/menu")
def menu() -> Response:
    return wx_json({"menu": current_state().menu})


# -- faults, clock, stats, reset -----------------------------------------------------------------------------
@bp.get("/faults")
def list_faults() -> Response:
    return wx_json({"faults": {name: f.to_dict() for name, f in current_state().faults().items()}})


@bp.post("/faults")
def add_fault() -> Response:
    data = _body()
    endpoint = _str(data, "endpoint", required=True) or ""
    drop = data.get("drop", False)
    if not isinstance(drop, bool):
        raise BadInput("drop must be true or false")
    try:
        check_endpoint(endpoint)
        fault = Fault(
            errcode=_int(data.get("errcode"), "errcode"),
            latency_ms=_int(data.get("latency_ms"), "latency_ms", 0) or 0,
            drop=drop,
            times=_int(data.get("times"), "times"),
        )
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    if fault.errcode is None and not fault.drop and not fault.latency_ms:
        raise BadInput("a fault needs errcode, latency_ms or drop")
    current_state().set_fault(endpoint, fault)
    return wx_json({"endpoint": endpoint, "fault": fault.to_dict()})


@bp.delete("/faults")
def clear_faults() -> Response:
    return wx_json({"cleared": current_state().clear_faults(request.args.get("endpoint") or None)})


@bp.post("/clock/advance")
def advance_clock() -> Response:
    """Move the sandbox's time, for tests driving it from another process."""
    seconds = _body().get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise BadInput("seconds must be a non-negative number")
    return wx_json({"now": current_state().advance(float(seconds))})


@bp.get("/stats")
def stats() -> Response:
    return wx_json(current_state().stats())


@bp.post("/reset")
def reset() -> Response:
    current_state().reset()
    return wx_json({"reset": True})
