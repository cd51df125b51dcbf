"""The API client against the sandbox over real HTTP: shared token, bounded retries, error classes, limits."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests
from flask import Flask

from bot.wechat.accounts import Article, MiniprogramClient, OfficialAccountClient
from bot.wechat.errors import ErrorKind, WeChatAPIError
from bot.wechat.replies import Text
from sandbox import SandboxServer
from tests.conftest import AES_KEY, APPID, MP_APPID, REDIS_URL, TOKEN, AppFactory, needs_redis
from tests.wechat_factory import WeChatPusher, event_xml

FAST = {"WECHAT_RETRY_BACKOFF_SECONDS": 0.01, "WECHAT_RATE_PAUSE_SECONDS": 0.05}


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app(**FAST)


@pytest.fixture
def oa(app: Flask) -> OfficialAccountClient:
    return app.extensions["wechat_client"]


@pytest.fixture
def mp(app: Flask) -> MiniprogramClient:
    return app.extensions["miniprogram_client"]


def follower_in_window(sandbox: SandboxServer, oa: OfficialAccountClient, openid: str) -> str:
    """A follower who just wrote to the account, as both WeChat (the sandbox) and our client know it."""
    sandbox.state.add_follower(openid=openid)
    sandbox.state.user_interacted(openid, "message")
    oa.window.open(openid, f"m:test-{openid}", by_message=True)
    return openid


def calls(sandbox: SandboxServer, api: str) -> int:
    return int(requests.get(f"{sandbox.url}/sandbox/api/stats", timeout=5).json()["calls"].get(api, 0))


def fault(sandbox: SandboxServer, endpoint: str, **spec: object) -> None:
    resp = requests.post(f"{sandbox.url}/sandbox/api/faults", json={"endpoint": endpoint, **spec}, timeout=5)
    assert resp.status_code == 200, resp.text


# -- token -------------------------------------------------------------------------------------------------
def test_one_token_fetch_serves_many_calls(sandbox: SandboxServer, oa: OfficialAccountClient) -> None:
    openid = follower_in_window(sandbox, oa, "o_tok_many")
    for i in range(5):
        assert oa.send_text(openid, f"第{i}条").ok
    assert sandbox.state.token_fetches(APPID) == 1


def test_apps_sharing_redis_share_the_token(
    sandbox: SandboxServer, make_app: AppFactory, app: Flask, oa: OfficialAccountClient
) -> None:
    other = make_app(REDIS_PREFIX=app.config["SETTINGS"].REDIS_PREFIX, **FAST)
    if other.extensions["redis"].client is not app.extensions["redis"].client and not _real_redis(app):
        pytest.skip("two embedded Redis stand-ins share nothing; needs a real Redis")
    openid = follower_in_window(sandbox, oa, "o_tok_shared")
    assert oa.send_text(openid, "一").ok
    assert other.extensions["wechat_client"].send_text(openid, "二").ok
    assert sandbox.state.token_fetches(APPID) == 1


def _real_redis(app: Flask) -> bool:
    return not app.extensions["redis"].embedded


TWO_PROCESS_SCRIPT = textwrap.dedent(
    """
    import sys, threading
    from bot import create_app
    app = create_app(dict(APP_ENV="test", WECHAT_APPID=sys.argv[1], WECHAT_SECRET="test-secret",
                          WECHAT_API_BASE=sys.argv[2], REDIS_URL=sys.argv[3], REDIS_PREFIX=sys.argv[4],
                          DATABASE_URL="sqlite://", WECHAT_RATE_LIMITS="*=0"))
    client = app.extensions["wechat_client"]
    openids = sys.argv[5].split(",")
    failures = []
    def work(openid):
        for _ in range(25):
            result = client.user_info(openid)
            if not result.subscribed:
                failures.append(openid)
    threads = [threading.Thread(target=work, args=(o,)) for o in openids]
    for t in threads: t.start()
    for t in threads: t.join()
    print(len(failures))
    """
)


@needs_redis
def test_two_processes_under_load_fetch_the_token_once(sandbox: SandboxServer, app: Flask) -> None:
    openids = [sandbox.state.add_follower(openid=f"o_two_{i}").openid for i in range(8)]
    prefix = app.config["SETTINGS"].REDIS_PREFIX + "two:"
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "BOT_ENV_FILE": ""}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                TWO_PROCESS_SCRIPT,
                APPID,
                sandbox.url,
                REDIS_URL,
                prefix,
                ",".join(openids),
            ],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert [out.strip().splitlines()[-1] for out, _ in outputs] == ["0", "0"]
    # 2 processes × 8 threads × 25 calls = 400 calls, one token.
    assert calls(sandbox, "user_info") == 400
    assert sandbox.state.token_fetches(APPID) == 1


def test_token_is_refreshed_ahead_of_expiry_by_one_caller(
    sandbox: SandboxServer, oa: OfficialAccountClient
) -> None:
    openid = follower_in_window(sandbox, oa, "o_tok_ahead")
    assert oa.send_text(openid, "一").ok
    first = oa.tokens.cached()
    assert first is not None
    # Inside the refresh margin: the next call refreshes (WeChat's stable_token then hands out a new one).
    later = first.refresh_at + 1
    oa.tokens.clock = lambda: later
    sandbox.state.advance(later - time.time())
    assert oa.send_text(openid, "二").ok
    second = oa.tokens.cached()
    assert second is not None and second.token != first.token
    assert sandbox.state.token_fetches(APPID) == 2
    assert oa.send_text(openid, "三").ok
    assert sandbox.state.token_fetches(APPID) == 2


def test_rotated_token_is_dropped_refreshed_and_the_call_retried_once(
    sandbox: SandboxServer, oa: OfficialAccountClient
) -> None:
    openid = follower_in_window(sandbox, oa, "o_tok_rotate")
    assert oa.send_text(openid, "一").ok
    # Another system asked /cgi-bin/token: ours dies after the overlap.
    resp = requests.get(
        f"{sandbox.url}/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": APPID, "secret": "test-secret"},
        timeout=5,
    )
    assert "access_token" in resp.json()
    sandbox.state.advance(sandbox.state.config.token_overlap_seconds + 1)
    result = oa.send_text(openid, "二")
    assert result.ok
    assert sandbox.state.token_fetches(APPID) == 3
    assert calls(sandbox, "custom_send") == 3  # one refused with 40001, one retried


def test_token_errors_are_retried_once_never_in_a_loop(
    sandbox: SandboxServer, oa: OfficialAccountClient
) -> None:
    openid = follower_in_window(sandbox, oa, "o_tok_loop")
    fault(sandbox, "custom_send", errcode=40001)
    result = oa.send_text(openid, "你好")
    assert result.kind is ErrorKind.TOKEN and result.errcode == 40001
    assert calls(sandbox, "custom_send") == 2
    assert sandbox.state.token_fetches(APPID) == 2


def test_a_failed_token_is_dropped_only_if_still_cached(oa: OfficialAccountClient) -> None:
    oa.tokens.redis.set(oa.tokens.key, "9999999999.000:9999999999.000:newer-token")
    assert not oa.tokens.invalidate("older-token")
    assert oa.tokens.cached().token == "newer-token"  # type: ignore[union-attr]
    assert oa.tokens.invalidate("newer-token")
    assert oa.tokens.cached() is None


def test_wrong_secret_is_a_configuration_error(make_app: AppFactory) -> None:
    app = make_app(WECHAT_SECRET="wrong", **FAST)
    result = app.extensions["wechat_client"].send_text("o_any", "你好")
    # The window check comes first: nothing is fetched for a user we may not message.
    assert result.local
    with pytest.raises(WeChatAPIError) as err:
        app.extensions["wechat_client"].get_menu()
    assert err.value.kind is ErrorKind.CONFIG and err.value.errcode == 40125
    assert app.extensions["config_alerts"].recent()[0]["errcode"] == 40125


# -- error classes -----------------------------------------------------------------------------------------
def test_busy_is_retried_with_backoff(sandbox: SandboxServer, oa: OfficialAccountClient) -> None:
    openid = follower_in_window(sandbox, oa, "o_busy")
    fault(sandbox, "custom_send", errcode=-1, times=2)
    assert oa.send_text(openid, "你好").ok
    assert calls(sandbox, "custom_send") == 3


def test_busy_that_persists_is_handed_back_as_retryable(
    sandbox: SandboxServer, oa: OfficialAccountClient
) -> None:
    openid = follower_in_window(sandbox, oa, "o_busy_long")
    fault(sandbox, "custom_send", errcode=-1)
    result = oa.send_text(openid, "你好")
    assert result.kind is ErrorKind.RETRYABLE and result.errcode == -1
    assert calls(sandbox, "custom_send") == 3  # the first try and two retries
    # The send did not happen, so it does not use up the user's window.
    assert oa.window.remaining(openid)[0] == 5


def test_minute_limit_pauses_then_retries_once(sandbox: SandboxServer, oa: OfficialAccountClient) -> None:
    openid = follower_in_window(sandbox, oa, "o_45011")
    fault(sandbox, "custom_send", errcode=45011, times=1)
    assert oa.send_text(openid, "你好").ok
    fault(sandbox, "custom_send", errcode=45011)
    result = oa.send_text(openid, "再来")
    assert result.kind is ErrorKind.RATE_LIMITED and 0 < (result.retry_after or 0) <= 60


def test_daily_quota_stops_the_api_until_tomorrow(sandbox: SandboxServer, oa: OfficialAccountClient) -> None:
    openid = follower_in_window(sandbox, oa, "o_45009")
    fault(sandbox, "template_send", errcode=45009, times=1)
    result = oa.send_template(openid, "tmpl_status", {"thing1": "申请已受理"})
    assert result.kind is ErrorKind.QUOTA and (result.retry_after or 0) > 0
    again = oa.send_template(openid, "tmpl_status", {"thing1": "申请已受理"})
    assert again.kind is ErrorKind.QUOTA and again.local
    assert calls(sandbox, "template_send") == 1
    assert oa.send_text(openid, "客服消息不受影响").ok  # the stop is per API


@pytest.mark.parametrize("errcode", [40003, 43004, 43101, 45015, 45047])
def test_recipient_errors_are_not_retried(
    sandbox: SandboxServer, oa: OfficialAccountClient, errcode: int
) -> None:
    openid = follower_in_window(sandbox, oa, f"o_rcpt_{errcode}")
    fault(sandbox, "custom_send", errcode=errcode)
    result = oa.send_text(openid, "你好")
    assert result.kind is ErrorKind.RECIPIENT and result.errcode == errcode
    assert calls(sandbox, "custom_send") == 1


@pytest.mark.parametrize("errcode", [40037, 41030, 48001, 47003])
def test_configuration_errors_alert_staff_once(
    sandbox: SandboxServer, make_app: AppFactory, errcode: int
) -> None:
    app = make_app(STAFF_ALERT_OPENIDS="o_staff_cfg", **FAST)
    oa: OfficialAccountClient = app.extensions["wechat_client"]
    staff = follower_in_window(sandbox, oa, "o_staff_cfg")
    user = follower_in_window(sandbox, oa, f"o_cfg_{errcode}")
    fault(sandbox, "template_send", errcode=errcode)
    for _ in range(3):
        result = oa.send_template(user, "tmpl_status", {"thing1": "申请已受理"})
        assert result.kind is ErrorKind.CONFIG and result.errcode == errcode
    alerts = sandbox.state.wait_for_sent(1, api="custom_send")
    time.sleep(0.2)  # a second alert would have arrived by now
    alerts = sandbox.state.sent(api="custom_send", openid=staff)
    assert len(alerts) == 1 and str(errcode) in alerts[0].payload["text"]["content"]
    assert [a["errcode"] for a in app.extensions["config_alerts"].recent()] == [errcode]


def test_dropped_connection_on_a_send_is_not_retried(
    sandbox: SandboxServer, oa: OfficialAccountClient
) -> None:
    openid = follower_in_window(sandbox, oa, "o_drop")
    fault(sandbox, "custom_send", drop=True, times=1)
    result = oa.send_text(openid, "你好")
    # WeChat may have acted before the connection dropped: a blind retry could send twice.
    assert result.kind is ErrorKind.RETRYABLE and result.maybe_delivered and result.errcode is None
    assert calls(sandbox, "custom_send") == 1


def test_dropped_connection_on_a_query_is_retried(sandbox: SandboxServer, oa: OfficialAccountClient) -> None:
    sandbox.state.add_follower(openid="o_drop_q")
    fault(sandbox, "user_info", drop=True, times=1)
    assert oa.user_info("o_drop_q").subscribed
    assert calls(sandbox, "user_info") == 2


def test_slow_answer_times_out_as_maybe_delivered(sandbox: SandboxServer, make_app: AppFactory) -> None:
    app = make_app(HTTP_TIMEOUT_SECONDS=0.3, **FAST)
    oa: OfficialAccountClient = app.extensions["wechat_client"]
    openid = follower_in_window(sandbox, oa, "o_slow")
    oa.user_info(openid)  # token fetched before the fault
    fault(sandbox, "custom_send", latency_ms=800, times=1)
    result = oa.send_text(openid, "你好")
    assert result.kind is ErrorKind.RETRYABLE and result.maybe_delivered


# -- limits ------------------------------------------------------------------------------------------------
def test_rate_limit_spaces_calls(sandbox: SandboxServer, make_app: AppFactory) -> None:
    app = make_app(WECHAT_RATE_LIMITS={"user_info": 20.0}, **FAST)
    oa: OfficialAccountClient = app.extensions["wechat_client"]
    sandbox.state.add_follower(openid="o_rate")
    started = time.monotonic()
    for _ in range(21):
        oa.user_info("o_rate")
    assert time.monotonic() - started >= 0.9  # 20 per second after a burst of 2


def test_rate_limit_hands_the_call_back_when_the_wait_is_too_long(
    sandbox: SandboxServer, make_app: AppFactory
) -> None:
    app = make_app(WECHAT_RATE_LIMITS={"user_info": 1.0}, WECHAT_RATE_MAX_WAIT_SECONDS=0.0, **FAST)
    oa: OfficialAccountClient = app.extensions["wechat_client"]
    sandbox.state.add_follower(openid="o_rate_back")
    oa.user_info("o_rate_back")
    with pytest.raises(WeChatAPIError) as err:
        oa.user_info("o_rate_back")
    assert err.value.kind is ErrorKind.RATE_LIMITED and err.value.result.local
    assert calls(sandbox, "user_info") == 1


def test_customer_service_window_follows_the_user(
    sandbox: SandboxServer, app: Flask, oa: OfficialAccountClient
) -> None:
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY, sandbox=sandbox)
    sandbox.state.add_follower(openid="o_window")
    assert oa.send_text("o_window", "还没说过话").local  # refused here, WeChat is not asked
    pusher.text("你好", openid="o_window")
    assert [oa.send_text("o_window", f"{i}").ok for i in range(6)] == [True] * 5 + [False]
    assert calls(sandbox, "custom_send") == 5
    pusher.text("还在吗", openid="o_window")
    assert oa.send_text("o_window", "在").ok
    pusher.push(event_xml("unsubscribe", openid="o_window"))
    assert oa.send_text("o_window", "再见").local


# -- the product's calls -----------------------------------------------------------------------------------
def test_news_and_miniprogram_page_reach_the_follower(
    sandbox: SandboxServer, oa: OfficialAccountClient
) -> None:
    openid = follower_in_window(sandbox, oa, "o_news")
    assert oa.send_news(openid, Article("见习岗位", "金融街 10 个岗位", "https://example.cn/a", "")).ok
    assert oa.send_miniprogram_page(openid, "报名", "wxmini", "pages/index", "MEDIA_ID").ok
    kinds = [m.payload["msgtype"] for m in sandbox.state.sent(api="custom_send", openid=openid)]
    assert kinds == ["news", "miniprogrampage"]


def test_template_and_subscription_notices(sandbox: SandboxServer, oa: OfficialAccountClient) -> None:
    sandbox.state.add_follower(openid="o_notice")
    result = oa.send_template("o_notice", "tmpl_status", {"thing1": "申请已受理"})
    assert result.ok and result.msgid
    no_credit = oa.send_subscription_notice("o_notice", "tmpl_activity_reminder", {"thing1": "读书会"})
    assert no_credit.kind is ErrorKind.RECIPIENT and no_credit.errcode == 43101


def test_miniprogram_login_phone_and_content_check(sandbox: SandboxServer, mp: MiniprogramClient) -> None:
    code, openid = sandbox.state.issue_login_code(MP_APPID)
    session = mp.code_to_session(code)
    assert session.openid == openid and session.session_key
    with pytest.raises(WeChatAPIError) as err:
        mp.code_to_session(code)  # single use
    assert err.value.kind is ErrorKind.REJECTED
    phone = mp.phone_number(sandbox.state.issue_phone_code("13800138000"))
    assert phone.pure_phone_number == "13800138000" and phone.country_code == "86"
    assert mp.msg_sec_check(openid, "周末一起去读书会").suggest == "pass"
    assert mp.msg_sec_check(openid, "网上赌博稳赚").suggest == "risky"


def test_miniprogram_subscribe_message_spends_a_credit(sandbox: SandboxServer, mp: MiniprogramClient) -> None:
    sandbox.state.grant_credit("o_mp_sub", "tmpl_activity_reminder", 1)
    data = {"thing1": "青年读书会", "time2": "2026年11月28日 14:00", "thing3": "西城区青年汇"}
    assert mp.send_subscribe_message("o_mp_sub", "tmpl_activity_reminder", data, page="pages/a").ok
    again = mp.send_subscribe_message("o_mp_sub", "tmpl_activity_reminder", data)
    assert again.kind is ErrorKind.RECIPIENT and again.errcode == 43101


# -- failures of our own side ------------------------------------------------------------------------------
def test_calls_never_raise_when_redis_is_down(sandbox: SandboxServer, make_app: AppFactory) -> None:
    app = make_app(REDIS_URL="redis://127.0.0.1:6390/0", **FAST)  # nobody listens there
    sandbox.state.add_follower(openid="o_no_redis")
    result = app.extensions["wechat_client"].send_text("o_no_redis", "你好")
    # Without the token store there is no token: a clear result, not an exception.
    assert result.kind is ErrorKind.RETRYABLE and "token store" in result.errmsg
    assert calls(sandbox, "custom_send") == 0


def test_secrets_stay_out_of_errors_and_bad_urls_give_results(make_app: AppFactory) -> None:
    app = make_app(WECHAT_API_BASE="http://127.0.0.1:9", MINIPROGRAM_SECRET="TOPSECRET", **FAST)
    with pytest.raises(WeChatAPIError) as err:
        app.extensions["miniprogram_client"].code_to_session("any-code")
    assert err.value.kind is ErrorKind.RETRYABLE and "TOPSECRET" not in str(err.value)
    broken = make_app(WECHAT_API_BASE="notaurl", **FAST)
    assert (
        broken.extensions["wechat_client"].call("user_info", "/cgi-bin/user/info").kind is ErrorKind.RETRYABLE
    )


def test_gateway_error_page_on_a_send_counts_as_maybe_delivered(make_app: AppFactory) -> None:
    from werkzeug.wrappers import Response

    from tests.live_server import serving

    gateway = Flask("gateway")
    gateway.add_url_rule("/<path:p>", "any", lambda p: Response("<h1>502</h1>", 502), methods=["GET", "POST"])
    with serving(gateway) as url:
        app = make_app(WECHAT_API_BASE=url, **FAST)
        oa: OfficialAccountClient = app.extensions["wechat_client"]
        oa.tokens.redis.set(oa.tokens.key, "9999999999.000:9999999999.000:some-token")
        oa.window.open("o_gateway", "m:gw", by_message=True)
        result = oa.send_text("o_gateway", "你好")
    assert result.kind is ErrorKind.RETRYABLE and result.maybe_delivered


def test_failed_refresh_keeps_serving_with_the_current_token(
    sandbox: SandboxServer, oa: OfficialAccountClient
) -> None:
    openid = follower_in_window(sandbox, oa, "o_refresh_fail")
    assert oa.send_text(openid, "一").ok
    first = oa.tokens.cached()
    assert first is not None
    oa.tokens.clock = lambda: first.refresh_at + 1  # due, still valid
    sandbox.state.advance(first.refresh_at + 1 - time.time())
    fault(sandbox, "stable_token", errcode=-1)
    assert oa.send_text(openid, "二").ok
    assert oa.tokens.cached() == first


# -- the window, as WeChat counts it -----------------------------------------------------------------------
def test_window_is_not_reset_by_a_retry_of_the_same_message(
    sandbox: SandboxServer, app: Flask, oa: OfficialAccountClient
) -> None:
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY, sandbox=sandbox)
    pusher.text("你好", openid="o_win_retry", msg_id="880001")
    assert all(oa.send_text("o_win_retry", f"{i}").ok for i in range(5))
    oa.window.open("o_win_retry", "m:880001", by_message=True)  # WeChat retries the push
    assert oa.send_text("o_win_retry", "第六条").local


def test_event_window_resets_on_each_click_and_never_shrinks_a_message_window(
    sandbox: SandboxServer, app: Flask, oa: OfficialAccountClient
) -> None:
    pusher = WeChatPusher(app.test_client(), TOKEN, APPID, AES_KEY, sandbox=sandbox)
    pusher.push(event_xml("CLICK", openid="o_win_click", EventKey="HELP_12355", create_time=1_000))
    assert [oa.send_text("o_win_click", "x").ok for _ in range(4)] == [True, True, True, False]
    pusher.push(event_xml("CLICK", openid="o_win_click", EventKey="HELP_12355", create_time=1_001))
    assert oa.send_text("o_win_click", "again").ok
    pusher.text("你好", openid="o_win_msg")
    pusher.push(event_xml("CLICK", openid="o_win_msg", EventKey="HELP_12355"))
    assert oa.window.remaining("o_win_msg")[0] == 5 and oa.window.remaining("o_win_msg")[1] > 3600
    oa.window.give_back("o_win_msg")
    assert oa.window.remaining("o_win_msg")[0] == 5  # never above the window's size


def test_follow_up_that_meets_a_busy_wechat_is_sent_later(
    sandbox: SandboxServer, app: Flask, oa: OfficialAccountClient
) -> None:
    follower_in_window(sandbox, oa, "o_later")
    fault(sandbox, "custom_send", errcode=-1, times=3)  # the client's own three tries all fail
    app.extensions["followups"].send("o_later", Text("稍后送达"))
    sent = sandbox.state.wait_for_sent(4, api="custom_send", timeout=8)
    assert [m.errcode for m in sent] == [-1, -1, -1, 0] and sent[-1].payload["text"]["content"] == "稍后送达"
