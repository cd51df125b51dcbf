"""The sandbox's contract over real HTTP: WeChat's endpoints and error codes, fault injection, control API.

Time is moved with `state.advance(seconds)`, never slept, so token life, windows and codes age instantly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bot.wechat import values as wx_values
from sandbox import AppCredentials, SandboxConfig, SandboxServer, SandboxState

OA, OA_SECRET = "wx_sandbox_oa_0001", "oa-secret"
MP, MP_SECRET = "wx_sandbox_mp_0001", "mp-secret"
ACTIVITY = "tmpl_activity_reminder"
GOOD_ACTIVITY = {
    "thing1": {"value": "青年读书会"},
    "time2": {"value": "2025年10月1日 15:01"},
    "thing3": {"value": "团区委"},
}


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    config = SandboxConfig(
        apps={OA: AppCredentials(OA_SECRET, "oa"), MP: AppCredentials(MP_SECRET, "mp")},
        webhook_url=None,
        webhook_token="t",
        webhook_aes_key=None,
        oa_appid=OA,
    )
    with SandboxServer(config) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(server: SandboxServer) -> SandboxState:
    server.state.reset()
    return server.state


@pytest.fixture
def state(server: SandboxServer) -> SandboxState:
    return server.state


def token(server: SandboxServer, appid: str = OA, secret: str = OA_SECRET, force: bool = False) -> str:
    body = {"grant_type": "client_credential", "appid": appid, "secret": secret, "force_refresh": force}
    data = requests.post(f"{server.url}/cgi-bin/stable_token", json=body, timeout=5).json()
    return str(data["access_token"])


def rotate(server: SandboxServer, appid: str = OA, secret: str = OA_SECRET) -> dict[str, Any]:
    params = {"grant_type": "client_credential", "appid": appid, "secret": secret}
    return requests.get(f"{server.url}/cgi-bin/token", params=params, timeout=5).json()


def post(server: SandboxServer, path: str, tok: str | None, body: Any) -> dict[str, Any]:
    params = {"access_token": tok} if tok is not None else {}
    return requests.post(f"{server.url}{path}", params=params, json=body, timeout=5).json()


def get(server: SandboxServer, path: str, tok: str | None, **params: str) -> dict[str, Any]:
    if tok is not None:
        params["access_token"] = tok
    return requests.get(f"{server.url}{path}", params=params, timeout=5).json()


def text(server: SandboxServer, tok: str, openid: str, content: str = "你好") -> dict[str, Any]:
    body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
    return post(server, "/cgi-bin/message/custom/send", tok, body)


def api(server: SandboxServer, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{server.url}/sandbox/api{path}", timeout=5, **kwargs)


def menu_ok(server: SandboxServer, tok: str) -> int:
    """An errcode that tells whether the token was accepted (46003: accepted, no menu yet)."""
    return int(get(server, "/cgi-bin/menu/get", tok)["errcode"])


# -- access_token ----------------------------------------------------------------------------------------
def test_token_rotation_keeps_the_old_token_for_the_overlap(
    server: SandboxServer, state: SandboxState
) -> None:
    first = rotate(server)
    assert first["expires_in"] == 7200 and "errcode" not in first
    second = rotate(server)
    assert second["access_token"] != first["access_token"]
    assert menu_ok(server, first["access_token"]) == 46003  # still inside the overlap
    state.advance(state.config.token_overlap_seconds + 1)
    assert menu_ok(server, first["access_token"]) == 40001
    assert menu_ok(server, second["access_token"]) == 46003
    assert state.token_fetches(OA) == 2


def test_stable_token_is_shared_until_it_nears_expiry(server: SandboxServer, state: SandboxState) -> None:
    first = token(server)
    assert token(server) == first
    state.advance(state.config.token_ttl_seconds - state.config.token_overlap_seconds + 1)
    second = token(server)
    assert second != first
    assert menu_ok(server, first) == 46003  # a non-forced refresh leaves the old token its remaining life
    state.advance(state.config.token_overlap_seconds)
    assert menu_ok(server, first) == 42001
    assert state.token_fetches(OA) == 3


def test_stable_token_expires_in_counts_down(server: SandboxServer, state: SandboxState) -> None:
    body = {"grant_type": "client_credential", "appid": OA, "secret": OA_SECRET}
    assert post(server, "/cgi-bin/stable_token", None, body)["expires_in"] == 7200
    state.advance(1000)
    assert post(server, "/cgi-bin/stable_token", None, body)["expires_in"] == 6200


def test_forced_refresh_cuts_the_old_token_to_the_overlap(server: SandboxServer, state: SandboxState) -> None:
    first = token(server)
    second = token(server, force=True)
    assert second != first
    assert token(server) == second
    assert menu_ok(server, first) == 46003
    state.advance(state.config.token_overlap_seconds + 1)
    assert menu_ok(server, first) == 40001


def test_expired_missing_and_unknown_tokens(server: SandboxServer, state: SandboxState) -> None:
    tok = token(server)
    assert menu_ok(server, "not-a-token") == 40001
    assert get(server, "/cgi-bin/menu/get", None)["errcode"] == 41001
    assert api(server, "POST", "/tokens/expire", json={"appid": OA}).json() == {"expired": 1}
    assert menu_ok(server, tok) == 42001
    assert token(server) != tok  # the expired token is not handed out again


def test_token_credentials_are_checked(server: SandboxServer, state: SandboxState) -> None:
    assert rotate(server, secret="wrong")["errcode"] == 40125
    assert rotate(server, appid="wx_unknown")["errcode"] == 40013
    params = {"grant_type": "password", "appid": OA, "secret": OA_SECRET}
    assert get(server, "/cgi-bin/token", None, **params)["errcode"] == 40002
    assert get(server, "/cgi-bin/token", None, grant_type="client_credential", appid=OA)["errcode"] == 41004
    assert state.token_fetches(OA) == 0


def test_an_app_kind_cannot_call_the_other_kinds_api(server: SandboxServer, state: SandboxState) -> None:
    oa, mp = token(server), token(server, MP, MP_SECRET)
    check = {"content": "你好", "version": 2, "scene": 2, "openid": "o_x"}
    assert post(server, "/wxa/msg_sec_check", oa, check)["errcode"] == 48001
    assert menu_ok(server, mp) == 48001
    assert state.token_fetches() == 2


# -- customer-service messages ---------------------------------------------------------------------------
def test_custom_send_is_recorded_and_reaches_the_timeline(server: SandboxServer, state: SandboxState) -> None:
    state.add_follower("o_cs", "小青")
    state.user_interacted("o_cs", "message")
    tok = token(server)
    assert text(server, tok, "o_cs", "活动明天开始") == {"errcode": 0, "errmsg": "ok"}
    [sent] = state.sent(api="custom_send")
    assert (sent.openid, sent.appid, sent.errcode) == ("o_cs", OA, 0)
    assert sent.payload["text"]["content"] == "活动明天开始"
    [entry] = state.timeline("o_cs")
    assert (entry.direction, entry.channel, entry.kind) == ("out", "custom", "text")


def test_window_allows_five_sends_after_a_message(server: SandboxServer, state: SandboxState) -> None:
    state.add_follower("o_win")
    tok = token(server)
    assert text(server, tok, "o_win")["errcode"] == 45015  # never interacted
    state.user_interacted("o_win", "message")
    codes = [text(server, tok, "o_win", f"第{i}条")["errcode"] for i in range(6)]
    assert codes == [0, 0, 0, 0, 0, 45047]
    state.user_interacted("o_win", "message")  # a new message resets the count
    assert text(server, tok, "o_win")["errcode"] == 0
    state.advance(state.config.cs_window_seconds + 1)
    assert text(server, token(server), "o_win")["errcode"] == 45015
    assert len(state.sent(api="custom_send", openid="o_win", accepted=False)) == 3
    assert len(state.timeline("o_win")) == 6


def test_event_window_is_three_sends_in_a_minute(server: SandboxServer, state: SandboxState) -> None:
    state.add_follower("o_event")
    state.user_interacted("o_event", "event")
    tok = token(server)
    assert [text(server, tok, "o_event")["errcode"] for _ in range(4)] == [0, 0, 0, 45047]
    state.user_interacted("o_event", "event")
    assert text(server, tok, "o_event")["errcode"] == 0
    state.advance(61)
    assert text(server, tok, "o_event")["errcode"] == 45015


def test_a_click_does_not_cut_short_a_message_window(server: SandboxServer, state: SandboxState) -> None:
    state.add_follower("o_both")
    state.user_interacted("o_both", "message")
    state.user_interacted("o_both", "event")
    state.advance(120)
    assert text(server, token(server), "o_both")["errcode"] == 0


def test_custom_send_refusals(server: SandboxServer, state: SandboxState) -> None:
    tok = token(server)
    assert text(server, tok, "o_nobody")["errcode"] == 40003
    state.add_follower("o_gone")
    state.user_interacted("o_gone", "message")
    state.unfollow("o_gone")
    assert text(server, tok, "o_gone")["errcode"] == 45015
    state.add_follower("o_fmt")
    state.user_interacted("o_fmt", "message")
    article = {"title": "见习岗位", "description": "", "url": "https://example.cn/a", "picurl": ""}
    news = {"touser": "o_fmt", "msgtype": "news", "news": {"articles": [article, article]}}
    assert post(server, "/cgi-bin/message/custom/send", tok, news)["errcode"] == 45008
    assert text(server, tok, "o_fmt", "长" * 683)["errcode"] == 45002  # 2049 bytes
    assert text(server, tok, "o_fmt", "长" * 682)["errcode"] == 0
    assert text(server, tok, "o_fmt", "")["errcode"] == 44004
    odd = {"touser": "o_fmt", "msgtype": "sticker", "sticker": {}}
    assert post(server, "/cgi-bin/message/custom/send", tok, odd)["errcode"] == 40008
    news["news"]["articles"] = [article]
    assert post(server, "/cgi-bin/message/custom/send", tok, news)["errcode"] == 0
    assert [e.kind for e in state.timeline("o_fmt")] == ["text", "news"]


def test_typing_only_right_after_an_interaction(server: SandboxServer, state: SandboxState) -> None:
    state.add_follower("o_typing")
    tok = token(server)
    body = {"touser": "o_typing", "command": "Typing"}
    assert post(server, "/cgi-bin/message/custom/typing", tok, body)["errcode"] == 45015
    state.user_interacted("o_typing", "message")
    assert post(server, "/cgi-bin/message/custom/typing", tok, body)["errcode"] == 0
    bad = {"touser": "o_typing", "command": "Dance"}
    assert post(server, "/cgi-bin/message/custom/typing", tok, bad)["errcode"] == 47003
    state.advance(31)
    assert post(server, "/cgi-bin/message/custom/typing", tok, body)["errcode"] == 45015
    assert [m.errcode for m in state.sent(api="typing")] == [45015, 0, 47003, 45015]
    assert state.timeline("o_typing") == []  # typing is not a message


# -- subscription and template messages --------------------------------------------------------------------
def mp_send(
    server: SandboxServer, tok: str, openid: str, data: Any, template_id: str = ACTIVITY, **extra: Any
) -> int:
    body = {"touser": openid, "template_id": template_id, "page": "pages/index", "data": data, **extra}
    return int(post(server, "/cgi-bin/message/subscribe/send", tok, body)["errcode"])


def test_subscribe_send_spends_one_credit(server: SandboxServer, state: SandboxState) -> None:
    tok = token(server, MP, MP_SECRET)
    assert mp_send(server, tok, "o_mp_user", GOOD_ACTIVITY) == 43101
    state.grant_credit("o_mp_user", ACTIVITY)
    assert mp_send(server, tok, "o_mp_user", GOOD_ACTIVITY) == 0
    assert mp_send(server, tok, "o_mp_user", GOOD_ACTIVITY) == 43101
    assert [m.errcode for m in state.sent(api="subscribe_send")] == [43101, 0, 43101]
    [entry] = state.timeline("o_mp_user")
    assert (entry.channel, entry.kind) == ("subscribe", "subscribe")


def test_subscribe_values_are_checked_and_a_refusal_keeps_the_credit(
    server: SandboxServer, state: SandboxState
) -> None:
    tok = token(server, MP, MP_SECRET)
    state.grant_credit("o_mp_vals", ACTIVITY)
    long_thing = {**GOOD_ACTIVITY, "thing1": {"value": "青" * 21}}
    answer = post(
        server,
        "/cgi-bin/message/subscribe/send",
        tok,
        {"touser": "o_mp_vals", "template_id": ACTIVITY, "data": long_thing},
    )
    assert answer["errcode"] == 47003 and "data.thing1.value exceeds limit" in answer["errmsg"]
    missing = {k: v for k, v in GOOD_ACTIVITY.items() if k != "time2"}
    assert mp_send(server, tok, "o_mp_vals", missing) == 47003
    assert mp_send(server, tok, "o_mp_vals", {**GOOD_ACTIVITY, "time2": {"value": "明天下午"}}) == 47003
    assert mp_send(server, tok, "o_mp_vals", GOOD_ACTIVITY, miniprogram_state="beta") == 47003
    assert mp_send(server, tok, "o_mp_vals", GOOD_ACTIVITY, "tmpl_nope") == 40037
    assert (
        mp_send(server, tok, "o_mp_vals", GOOD_ACTIVITY, "tmpl_status") == 40037
    )  # not a subscribe template
    assert state.credits("o_mp_vals") == {ACTIVITY: 1}
    assert mp_send(server, tok, "o_mp_vals", GOOD_ACTIVITY, miniprogram_state="trial", lang="en_US") == 0
    assert state.credits("o_mp_vals") == {}


def test_bizsend_goes_to_followers_with_a_credit(server: SandboxServer, state: SandboxState) -> None:
    tok = token(server)
    body = {"touser": "o_biz", "template_id": ACTIVITY, "data": GOOD_ACTIVITY}
    assert post(server, "/cgi-bin/message/subscribe/bizsend", tok, body)["errcode"] == 40003
    state.add_follower("o_biz")
    assert post(server, "/cgi-bin/message/subscribe/bizsend", tok, body)["errcode"] == 43101
    state.grant_credit("o_biz", ACTIVITY, 2)
    answer = post(server, "/cgi-bin/message/subscribe/bizsend", tok, body)
    assert answer["errcode"] == 0 and answer["msgid"]
    assert state.credits("o_biz") == {ACTIVITY: 1}
    assert [e.channel for e in state.timeline("o_biz")] == ["bizsend"]


def test_template_send(server: SandboxServer, state: SandboxState) -> None:
    tok = token(server)
    body: dict[str, Any] = {
        "touser": "o_tmpl",
        "template_id": "tmpl_status",
        "data": {"thing1": {"value": "已受理"}},
    }
    assert post(server, "/cgi-bin/message/template/send", tok, body)["errcode"] == 40003
    state.add_follower("o_tmpl")
    answer = post(server, "/cgi-bin/message/template/send", tok, body)
    assert answer["errcode"] == 0 and isinstance(answer["msgid"], int)
    assert (
        post(server, "/cgi-bin/message/template/send", tok, {**body, "template_id": "tmpl_x"})["errcode"]
        == 40037
    )
    assert (
        post(server, "/cgi-bin/message/template/send", tok, {**body, "template_id": ACTIVITY})["errcode"]
        == 40037
    )
    bad = {**body, "data": {"thing1": {"value": "进度" * 11}}}
    assert post(server, "/cgi-bin/message/template/send", tok, bad)["errcode"] == 47003
    state.unfollow("o_tmpl")
    assert post(server, "/cgi-bin/message/template/send", tok, body)["errcode"] == 43004
    [accepted] = state.sent(api="template_send", accepted=True)
    assert accepted.msgid == answer["msgid"]


def test_template_send_dedups_by_client_msg_id(server: SandboxServer, state: SandboxState) -> None:
    state.add_follower("o_dedup")
    tok = token(server)
    body = {
        "touser": "o_dedup",
        "template_id": "tmpl_status",
        "data": {"thing1": {"value": "已受理"}},
        "client_msg_id": "notice-42",
    }
    first = post(server, "/cgi-bin/message/template/send", tok, body)
    again = post(server, "/cgi-bin/message/template/send", tok, body)
    assert first["errcode"] == again["errcode"] == 0 and first["msgid"] == again["msgid"]
    assert len(state.sent(api="template_send")) == 1 and len(state.timeline("o_dedup")) == 1


# -- miniprogram ----------------------------------------------------------------------------------------
def session(server: SandboxServer, code: str, appid: str = MP, secret: str = MP_SECRET) -> dict[str, Any]:
    params = {"appid": appid, "secret": secret, "js_code": code, "grant_type": "authorization_code"}
    return get(server, "/sns/jscode2session", None, **params)


def test_jscode2session(server: SandboxServer, state: SandboxState) -> None:
    code, openid = state.issue_login_code(MP, unionid="u_1")
    first = session(server, code)
    assert first["openid"] == openid and first["unionid"] == "u_1" and len(first["session_key"]) == 24
    assert session(server, code)["errcode"] == 40163
    assert session(server, "garbage")["errcode"] == 40029
    assert session(server, "test:o_fixed")["openid"] == "o_fixed"
    assert session(server, "test:o_fixed", secret="wrong")["errcode"] == 40125
    assert session(server, "test:o_fixed", appid=OA, secret=OA_SECRET)["errcode"] == 40013
    late, _ = state.issue_login_code(MP)
    state.advance(state.config.login_code_ttl_seconds + 1)
    assert session(server, late)["errcode"] == 40029


def test_phone_number(server: SandboxServer, state: SandboxState) -> None:
    tok = token(server, MP, MP_SECRET)
    code = api(server, "POST", "/phone-codes", json={"phone": "13800138000"}).json()["code"]
    answer = post(server, "/wxa/business/getuserphonenumber", tok, {"code": code})
    info = answer["phone_info"]
    assert answer["errcode"] == 0 and info["purePhoneNumber"] == "13800138000" and info["countryCode"] == "86"
    assert info["watermark"]["appid"] == MP
    assert post(server, "/wxa/business/getuserphonenumber", tok, {"code": code})["errcode"] == 40029


def test_msg_sec_check(server: SandboxServer, state: SandboxState) -> None:
    tok = token(server, MP, MP_SECRET)

    def check(content: str, **extra: Any) -> dict[str, Any]:
        body = {"content": content, "version": 2, "scene": 2, "openid": "o_sec", **extra}
        return post(server, "/wxa/msg_sec_check", tok, body)

    passed = check("周末一起去读书会")
    assert (
        passed["errcode"] == 0
        and passed["result"] == {"suggest": "pass", "label": 100}
        and passed["trace_id"]
    )
    assert check("有事加微信聊")["result"]["suggest"] == "review"
    risky = check("网上赌博稳赚")
    assert risky["result"]["suggest"] == "risky" and risky["detail"][-1]["keyword"] == "赌博"
    assert check("你好", version=1)["errcode"] == 47001
    assert check("你好", scene=9)["errcode"] == 47001
    assert check("你好", openid="")["errcode"] == 40003
    assert check("字" * 2501)["errcode"] == 47001


# -- account ---------------------------------------------------------------------------------------------
def test_menu_create_and_get(server: SandboxServer, state: SandboxState) -> None:
    tok = token(server)
    assert menu_ok(server, tok) == 46003
    menu = {
        "button": [
            {"type": "click", "name": "活动报名", "key": "SIGNUP"},
            {"name": "服务", "sub_button": [{"type": "view", "name": "官网", "url": "https://example.cn"}]},
        ]
    }
    assert post(server, "/cgi-bin/menu/create", tok, menu) == {"errcode": 0, "errmsg": "ok"}
    assert get(server, "/cgi-bin/menu/get", tok)["menu"]["button"] == menu["button"]
    assert state.menu == menu


@pytest.mark.parametrize(
    ("menu", "errcode"),
    [
        ({"button": []}, 40016),
        ({"button": [{"type": "click", "name": "按钮", "key": "K"}] * 4}, 40016),
        ({"button": [{"type": "click", "name": "一个很长很长的菜单名", "key": "K"}]}, 40018),
        ({"button": [{"type": "click", "name": "报名"}]}, 40019),
        ({"button": [{"type": "fly", "name": "报名"}]}, 40017),
        ({"button": [{"type": "view", "name": "官网"}]}, 40020),
        (
            {"button": [{"name": "服务", "sub_button": [{"type": "click", "name": "子", "key": "K"}] * 6}]},
            40023,
        ),
        ({"button": [{"name": "服务", "sub_button": [{"type": "click", "name": "子"}]}]}, 40026),
    ],
)
def test_menu_validation(server: SandboxServer, menu: dict[str, Any], errcode: int) -> None:
    assert post(server, "/cgi-bin/menu/create", token(server), menu)["errcode"] == errcode
    assert server.state.menu is None


def test_user_info(server: SandboxServer, state: SandboxState) -> None:
    tok = token(server)
    state.add_follower("o_info", unionid="u_info")
    info = get(server, "/cgi-bin/user/info", tok, openid="o_info", lang="zh_CN")
    assert info["subscribe"] == 1 and info["openid"] == "o_info" and info["unionid"] == "u_info"
    assert {
        "language",
        "subscribe_time",
        "remark",
        "groupid",
        "tagid_list",
        "subscribe_scene",
        "qr_scene",
    } <= set(info)
    assert "nickname" not in info
    state.unfollow("o_info")
    assert get(server, "/cgi-bin/user/info", tok, openid="o_info") == {"subscribe": 0, "openid": "o_info"}
    assert get(server, "/cgi-bin/user/info", tok, openid="o_who")["errcode"] == 40003
    assert get(server, "/cgi-bin/user/info", tok)["errcode"] == 41009


# -- faults ----------------------------------------------------------------------------------------------
def fault(server: SandboxServer, endpoint: str, **spec: Any) -> None:
    resp = api(server, "POST", "/faults", json={"endpoint": endpoint, **spec})
    assert resp.status_code == 200, resp.text


def test_fault_errcode_for_a_number_of_calls(server: SandboxServer, state: SandboxState) -> None:
    tok = token(server)
    fault(server, "menu_get", errcode=-1, times=2)
    answers = [get(server, "/cgi-bin/menu/get", tok) for _ in range(3)]
    assert [a["errcode"] for a in answers] == [-1, -1, 46003]
    assert answers[0]["errmsg"].startswith("system error")
    assert api(server, "GET", "/faults").json() == {"faults": {}}
    assert state.stats()["calls"]["menu_get"] == 3


def test_fault_on_a_send_is_recorded(server: SandboxServer, state: SandboxState) -> None:
    state.add_follower("o_fault")
    state.user_interacted("o_fault", "message")
    tok = token(server)
    fault(server, "custom_send", errcode=45011, times=1)
    assert text(server, tok, "o_fault")["errcode"] == 45011
    assert text(server, tok, "o_fault")["errcode"] == 0
    assert [m.errcode for m in state.sent(api="custom_send")] == [45011, 0]


def test_fault_latency(server: SandboxServer) -> None:
    tok = token(server)
    fault(server, "menu_get", latency_ms=300, times=1)
    started = time.monotonic()
    assert menu_ok(server, tok) == 46003  # latency alone still answers
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    menu_ok(server, tok)
    assert time.monotonic() - started < 0.3


def test_fault_drop_closes_the_connection(server: SandboxServer, state: SandboxState) -> None:
    state.add_follower("o_drop")
    state.user_interacted("o_drop", "message")
    tok = token(server)
    fault(server, "custom_send", drop=True, times=1)
    with requests.Session() as client:  # a kept-alive connection is dropped too
        body = {"touser": "o_drop", "msgtype": "text", "text": {"content": "你好"}}
        url = f"{server.url}/cgi-bin/message/custom/send"
        with pytest.raises(requests.exceptions.ConnectionError):
            client.post(url, params={"access_token": tok}, json=body, timeout=5)
        assert client.post(url, params={"access_token": tok}, json=body, timeout=5).json()["errcode"] == 0
    assert [m.errcode for m in state.sent(api="custom_send")] == [None, 0]
    assert len(state.timeline("o_drop")) == 1


def test_fault_on_every_endpoint_including_token_fetches(server: SandboxServer, state: SandboxState) -> None:
    fault(server, "*", errcode=45009)
    body = {"grant_type": "client_credential", "appid": OA, "secret": OA_SECRET}
    assert post(server, "/cgi-bin/stable_token", None, body)["errcode"] == 45009
    assert get(server, "/cgi-bin/menu/get", "whatever")["errcode"] == 45009
    fault(server, "menu_get", errcode=-1)  # an endpoint's own fault wins over "*"
    assert get(server, "/cgi-bin/menu/get", "whatever")["errcode"] == -1
    assert api(server, "DELETE", "/faults").json() == {"cleared": 2}
    assert "access_token" in post(server, "/cgi-bin/stable_token", None, body)


def test_bad_faults_are_refused(server: SandboxServer) -> None:
    assert api(server, "POST", "/faults", json={"endpoint": "nope", "errcode": 1}).status_code == 400
    assert api(server, "POST", "/faults", json={"endpoint": "token"}).status_code == 400
    assert (
        api(server, "POST", "/faults", json={"endpoint": "token", "errcode": 1, "times": 0}).status_code
        == 400
    )
    assert api(server, "POST", "/faults", json={"endpoint": "token", "drop": "yes"}).status_code == 400


# -- bad requests never crash ------------------------------------------------------------------------------
def test_bad_bodies_get_wechat_errors(server: SandboxServer) -> None:
    tok = token(server)
    url = f"{server.url}/cgi-bin/message/custom/send"
    for data, errcode in ((b"{not json", 47001), (b"[1, 2]", 47001), (b"", 44002), (b"\xff\xfe\x00", 47001)):
        resp = requests.post(url, params={"access_token": tok}, data=data, timeout=5)
        assert resp.status_code == 200 and resp.json()["errcode"] == errcode
    odd = {"touser": ["o"], "msgtype": "text", "text": "你好"}
    assert post(server, "/cgi-bin/message/custom/send", tok, odd)["errcode"] == 40003
    odd_data = {"touser": "o", "template_id": 7, "data": "x"}
    for path in (
        "/cgi-bin/message/template/send",
        "/cgi-bin/message/subscribe/bizsend",
        "/cgi-bin/menu/create",
    ):
        resp = requests.post(f"{server.url}{path}", params={"access_token": tok}, json=odd_data, timeout=5)
        assert resp.status_code == 200 and resp.json()["errcode"] != 0
    resp = requests.post(f"{server.url}/cgi-bin/stable_token", json={"appid": 1, "secret": None}, timeout=5)
    assert resp.status_code == 200 and resp.json()["errcode"] == 41002


def test_unknown_paths_and_wrong_methods(server: SandboxServer) -> None:
    resp = requests.get(f"{server.url}/cgi-bin/nothing/here", timeout=5)
    assert resp.status_code == 404 and resp.json()["errcode"] == 40066
    assert resp.headers["Content-Type"].startswith("application/json")
    assert requests.get(f"{server.url}/cgi-bin/message/custom/send", timeout=5).json()["errcode"] == 43002
    assert requests.post(f"{server.url}/cgi-bin/menu/get", timeout=5).json()["errcode"] == 43001
    assert api(server, "GET", "/nothing").status_code == 404


# -- control API -----------------------------------------------------------------------------------------
def test_control_followers_and_timeline(server: SandboxServer, state: SandboxState) -> None:
    created = api(server, "POST", "/followers", json={"nickname": "小团"})
    assert created.status_code == 201
    openid = created.json()["openid"]
    assert openid.startswith("o") and len(openid) == 28
    assert api(server, "POST", "/followers", json={"openid": openid}).status_code == 200  # idempotent
    listed = api(server, "GET", "/followers").json()["followers"]
    assert [f["nickname"] for f in listed] == ["小团"] and listed[0]["window"]["open"] is False
    assert (
        api(server, "POST", f"/followers/{openid}/interactions", json={"kind": "message"}).json()["window"][
            "left"
        ]
        == 5
    )
    state.record_inbound(openid, "text", {"content": "你好"})
    text(server, token(server), openid)
    entries = api(server, "GET", f"/followers/{openid}/timeline").json()["entries"]
    assert [(e["direction"], e["kind"]) for e in entries] == [("in", "text"), ("out", "text")]
    after = entries[0]["id"]
    later = api(server, "GET", f"/followers/{openid}/timeline", params={"after": after}).json()["entries"]
    assert [e["id"] for e in later] == [entries[1]["id"]]
    assert api(server, "GET", "/followers/o_unknown/timeline").status_code == 404
    assert api(server, "GET", "/followers/o_unknown").status_code == 404
    assert api(server, "POST", "/followers", json={"openid": 5}).status_code == 400


def test_control_sent_credits_codes_stats_and_reset(server: SandboxServer, state: SandboxState) -> None:
    state.add_follower("o_ctl")
    state.user_interacted("o_ctl", "message")
    tok = token(server)
    text(server, tok, "o_ctl")
    text(server, tok, "o_other")
    sent = api(server, "GET", "/sent", params={"openid": "o_ctl"}).json()["sent"]
    assert [(m["api"], m["errcode"], m["accepted"]) for m in sent] == [("custom_send", 0, True)]
    assert len(api(server, "GET", "/sent", params={"api": "custom_send", "after": 1}).json()["sent"]) == 1
    credits = api(server, "POST", "/credits", json={"openid": "o_ctl", "template_id": ACTIVITY, "count": 2})
    assert credits.json() == {"openid": "o_ctl", "credits": {ACTIVITY: 2}}
    assert api(server, "POST", "/credits", json={"openid": "o_ctl"}).status_code == 400
    code = api(server, "POST", "/login-codes", json={"openid": "o_login"}).json()
    assert code["appid"] == MP and session(server, code["code"])["openid"] == "o_login"
    assert api(server, "POST", "/login-codes", json={"appid": OA}).status_code == 400
    assert api(server, "GET", "/stats").json() == {
        "token_fetches": {OA: 1},
        "calls": {"stable_token": 1, "custom_send": 2, "jscode2session": 1},
    }
    assert api(server, "POST", "/reset").status_code == 200
    assert state.followers() == [] and state.sent() == [] and state.token_fetches() == 0
    assert menu_ok(server, tok) == 40001  # tokens are forgotten too


def test_control_registers_templates(server: SandboxServer, state: SandboxState) -> None:
    spec = {
        "template_id": "tmpl_new",
        "kind": "subscribe",
        "fields": {"phrase1": "phrase", "amount2": "amount"},
    }
    assert api(server, "POST", "/templates", json=spec).status_code == 201
    assert api(server, "POST", "/templates", json={**spec, "kind": "other"}).status_code == 400
    assert "tmpl_new" in api(server, "GET", "/templates").json()["templates"]
    state.grant_credit("o_new", "tmpl_new")
    tok = token(server, MP, MP_SECRET)
    data = {"phrase1": {"value": "已通过"}, "amount2": {"value": "￥12.50"}}
    assert mp_send(server, tok, "o_new", data, "tmpl_new") == 0


def test_control_clock_advances_the_state(server: SandboxServer, state: SandboxState) -> None:
    before = state.now()
    assert api(server, "POST", "/clock/advance", json={"seconds": 100}).json()["now"] >= before + 100
    assert api(server, "POST", "/clock/advance", json={"seconds": -1}).status_code == 400


def test_wait_for_sent_wakes_on_a_send(server: SandboxServer, state: SandboxState) -> None:
    state.add_follower("o_wait")
    state.user_interacted("o_wait", "message")
    tok = token(server)
    sender = threading.Timer(0.05, lambda: text(server, tok, "o_wait"))
    sender.start()
    try:
        [message] = state.wait_for_sent(1, api="custom_send", timeout=5)
    finally:
        sender.join()
    assert message.openid == "o_wait"


def test_config_from_settings() -> None:
    from bot.settings import load_settings

    settings = load_settings(
        {
            "WECHAT_APPID": "wx_a",
            "WECHAT_SECRET": "s_a",
            "MINIPROGRAM_APPID": "wx_m",
            "MINIPROGRAM_SECRET": "s_m",
        }
    )
    config = SandboxConfig.from_settings(settings, "http://127.0.0.1:5000/wechat")
    assert config.apps == {"wx_a": AppCredentials("s_a", "oa"), "wx_m": AppCredentials("s_m", "mp")}
    assert (config.oa_appid, config.webhook_token, config.webhook_url) == (
        "wx_a",
        settings.WECHAT_TOKEN,
        "http://127.0.0.1:5000/wechat",
    )
    only_oa = SandboxConfig.from_settings(load_settings({"MINIPROGRAM_APPID": "wx_m"}), None)
    assert [app.kind for app in only_oa.apps.values()] == ["oa"]


# -- value rules (pure) ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "value", "ok"),
    [
        ("thing", "青年读书会（第3期）", True),
        ("thing", "青" * 21, False),
        ("thing", "两行\n文字", False),
        ("short_thing", "五个字以内", True),
        ("number", "12.5", True),
        ("number", "十二", False),
        ("letter", "ABC", True),
        ("letter", "AB1", False),
        ("symbol", "+-*", True),
        ("character_string", "ORDER-2025_001", True),
        ("character_string", "订单1", False),
        ("time", "2025年10月1日 15:01", True),
        ("time", "15:01", True),
        ("time", "2025-10-01 15:01", True),
        ("time", "2025年10月1日", True),
        ("time", "15:01~17:30", True),
        ("time", "25:01", False),
        ("time", "明天下午", False),
        ("date", "2025年10月1日", True),
        ("date", "2025-02-30", False),
        ("date", "15:01", False),
        ("amount", "￥12.50", True),
        ("amount", "100元", True),
        ("amount", "一百元", False),
        ("phone_number", "+86-0766-66888866", True),
        ("phone_number", "1" * 18, False),
        ("car_number", "粤A8Z888挂", True),
        ("car_number", "粤A8Z8888挂", False),
        ("name", "欧阳青年", True),
        ("name", "十一个字的名字真的太长了", False),
        ("name", "Li Lei", True),
        ("phrase", "配送中", True),
        ("phrase", "配送中ok", False),
        ("thing", "", False),
        ("first", "旧模板的任何内容", True),
    ],
)
def test_value_rules(kind: str, value: str, ok: bool) -> None:
    assert (wx_values.check(kind, value) is None) is ok


def test_check_data_names_the_first_bad_field() -> None:
    fields = {"thing1": "thing", "time2": "time"}
    assert wx_values.check_data(fields, {"thing1": "读书会", "time2": "15:00"}) is None
    assert wx_values.check_data(fields, {"thing1": {"value": "读书会"}}) == "data.time2.value is empty"
    assert wx_values.check_data(fields, {"thing1": {"value": "读书会"}}, required=False) is None
    problem = wx_values.check_data(fields, {"thing1": "读" * 21, "time2": "15:00"})
    assert problem is not None and problem.startswith("data.thing1.value exceeds limit")
    assert wx_values.check_data({}, {"phrase9": "太长的短语了"}) is not None  # undeclared: by prefix
