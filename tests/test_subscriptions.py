"""The subscription credit ledger: the miniprogram API, the webhook's three events, sends and 43101."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
from flask import Flask

from bot.extensions import db
from services import subscriptions
from services.errors import Invalid
from tests.api_fixtures import Api, api_fixture, assert_envelope  # noqa: F401
from tests.wechat_factory import ORIGINAL_ID, WeChatPusher

T1, T2 = "tmpl_activity_reminder", "tmpl_signup_result"
_ticks = itertools.count()  # events are told apart by sender, time and name: give each its own second


def ledger(app: Flask, openid: str, *template_ids: str) -> dict[str, int]:
    with app.app_context():
        try:
            return subscriptions.credits_for(db.session, openid, template_ids)
        finally:
            db.session.remove()


def last_status(app: Flask, openid: str, template_id: str) -> tuple[str | None, str | None]:
    from sqlalchemy import select

    from services.models_delivery import SubscriptionCredit

    with app.app_context():
        try:
            row = db.session.scalars(
                select(SubscriptionCredit).where(
                    SubscriptionCredit.openid == openid, SubscriptionCredit.template_id == template_id
                )
            ).one()
            return row.last_event, row.last_status
        finally:
            db.session.remove()


# -- the miniprogram API -----------------------------------------------------------------------------------
def test_api_accept_adds_one_reject_and_ban_clear_filter_keeps(api: Api) -> None:
    user = api.login()
    r = user.post("/api/v1/subscriptions", json={T1: "accept", T2: "accept"})
    assert r.status_code == 200 and r.get_json() == {"credits": {T1: 1, T2: 1}}
    r = user.post("/api/v1/subscriptions", json={T1: "accept", T2: "filter"})
    assert r.get_json() == {"credits": {T1: 2, T2: 1}}
    r = user.post("/api/v1/subscriptions", json={T1: "reject", T2: "ban"})
    assert r.get_json() == {"credits": {T1: 0, T2: 0}}
    assert ledger(api.app, user.openid, T1, T2) == {T1: 0, T2: 0}
    assert last_status(api.app, user.openid, T2) == ("api", "ban")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {T1: "maybe"},
        {"": "accept"},
        {"x" * 200: "accept"},
        {"\u0000": "ban"},
        {"a b": "accept"},
        [T1],
        {f"t{i}": "accept" for i in range(30)},
    ],
)
def test_api_refuses_bad_choices(api: Api, body: Any) -> None:
    user = api.login()
    error = assert_envelope(user.post("/api/v1/subscriptions", json=body), 422, "validation_error")
    assert error["message"]


def test_erasure_deletes_the_ledger(api: Api) -> None:
    user = api.consenting_user()
    user.post("/api/v1/subscriptions", json={T1: "accept"})
    assert user.delete("/api/v1/me").status_code == 204
    from services.models_delivery import SubscriptionCredit

    assert api.query(lambda s: s.query(SubscriptionCredit).filter_by(openid=user.openid).count()) == 0


def test_api_needs_a_login(api: Api) -> None:
    assert_envelope(api.client.post("/api/v1/subscriptions", json={T1: "accept"}), 401)


def test_service_validates_too(api: Api) -> None:
    with api.app.app_context():
        with pytest.raises(Invalid) as exc:
            subscriptions.record_choices(db.session, "o1", {T1: "yes"})
        assert exc.value.fields == {T1: "应为 accept、reject、ban 或 filter"}
        db.session.remove()


# -- webhook events ------------------------------------------------------------------------------------------
def subscribe_event(event: str, openid: str, items: list[dict[str, str]]) -> str:
    container = {
        "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
        "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
        "subscribe_msg_sent_event": "SubscribeMsgSentEvent",
    }[event]
    lists = "".join(
        "<List>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in item.items()) + "</List>"
        for item in items
    )
    return (
        f"<xml><ToUserName><![CDATA[{ORIGINAL_ID}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time()) + next(_ticks)}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><{container}>{lists}</{container}></xml>"
    )


def popup(openid: str, **choices: str) -> str:
    items = [{"TemplateId": t, "SubscribeStatusString": s, "PopupScene": "2"} for t, s in choices.items()]
    return subscribe_event("subscribe_msg_popup_event", openid, items)


@pytest.fixture
def events_app(app: Flask) -> Any:
    from tests.conftest import wipe_domain_tables

    with app.app_context():
        wipe_domain_tables()
        db.session.remove()
    yield app
    with app.app_context():
        wipe_domain_tables()
        db.session.remove()


def test_popup_change_and_sent_events_update_the_ledger(events_app: Flask, wechat: WeChatPusher) -> None:
    openid = "o_sub_events_1"
    for xml in (popup(openid, **{T1: "accept", T2: "reject"}), popup(openid, **{T1: "accept"})):
        assert wechat.push(xml).is_success  # no passive reply for these events
    assert ledger(events_app, openid, T1, T2) == {T1: 2, T2: 0}

    # A sent report: success was counted when our send was accepted; only the status is recorded.
    sent = [{"TemplateId": T1, "MsgID": "1700827132819554304", "ErrorCode": "0", "ErrorStatus": "success"}]
    assert wechat.push(subscribe_event("subscribe_msg_sent_event", openid, sent)).is_success
    assert ledger(events_app, openid, T1) == {T1: 2}
    assert last_status(events_app, openid, T1) == ("sent", "sent")
    failed = [{"TemplateId": T1, "MsgID": "1", "ErrorCode": "20001", "ErrorStatus": "failed:user block"}]
    assert wechat.push(subscribe_event("subscribe_msg_sent_event", openid, failed)).is_success
    assert ledger(events_app, openid, T1) == {T1: 0}

    # The user turns the template on again in settings, then off.
    change = [{"TemplateId": T2, "SubscribeStatusString": "accept"}]
    assert wechat.push(subscribe_event("subscribe_msg_change_event", openid, change)).is_success
    assert ledger(events_app, openid, T2) == {T2: 1}
    change = [{"TemplateId": T2, "SubscribeStatusString": "reject"}]
    assert wechat.push(subscribe_event("subscribe_msg_change_event", openid, change)).is_success
    assert ledger(events_app, openid, T2) == {T2: 0}
    assert last_status(events_app, openid, T2) == ("change", "reject")


def test_a_retried_event_counts_once(events_app: Flask, wechat: WeChatPusher) -> None:
    xml = popup("o_sub_events_2", **{T1: "accept"})
    wechat.push(xml)
    wechat.push(xml)  # WeChat's retry of the same push: same sender, time and event
    assert ledger(events_app, "o_sub_events_2", T1) == {T1: 1}


def test_corpus_events_go_through(events_app: Flask, wechat: WeChatPusher) -> None:
    from tests.conftest import CORPUS_DIR

    found = sorted((CORPUS_DIR / "xml" / "wechatpy").glob("event-subscribe_msg_*.xml"))
    if not found:
        pytest.skip("the WeChat corpus is not available")
    for path in found:
        assert wechat.push(path.read_text(encoding="utf-8")).is_success
    # In file order: change (reject) → 0; popup (accept, reject) → 1 and 0; sent (success) keeps the 1.
    openid = "otFpruAK8D-E6EfStSYonYSBZ8_4"
    first, second = (
        "VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc",
        "9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI",
    )
    assert ledger(events_app, openid, first, second) == {first: 1, second: 0}


def test_a_broken_event_is_ignored_not_an_error(events_app: Flask, wechat: WeChatPusher) -> None:
    items = [{"TemplateId": "", "SubscribeStatusString": "accept"}, {"SubscribeStatusString": "accept"}]
    assert wechat.push(subscribe_event("subscribe_msg_popup_event", "o_sub_events_3", items)).is_success
    weird = [{"TemplateId": T1, "SubscribeStatusString": "sometimes"}]
    assert wechat.push(subscribe_event("subscribe_msg_popup_event", "o_sub_events_3", weird)).is_success
    assert ledger(events_app, "o_sub_events_3", T1) == {T1: 0}


# -- spending ----------------------------------------------------------------------------------------------
def test_spend_and_clear(events_app: Flask) -> None:
    with events_app.app_context():
        s = db.session
        subscriptions.record_choices(s, "o_spend", {T1: "accept", T2: "accept"}, source="popup")
        subscriptions.record_choices(s, "o_spend", {T1: "accept"})
        assert subscriptions.spend(s, "o_spend", T1) and subscriptions.credits(s, "o_spend", T1) == 1
        assert subscriptions.holders(s, ["o_spend", "o_other"], T1) == {"o_spend"}
        assert subscriptions.clear(s, "o_spend", T1) == 1  # 43101: WeChat says there is none
        assert not subscriptions.spend(s, "o_spend", T1)
        assert subscriptions.credits(s, "o_spend", T1) == 0 and subscriptions.credits(s, "o_spend", T2) == 1
        subscriptions.clear(s, "o_spend")  # unfollow: everything off
        assert subscriptions.credits(s, "o_spend", T2) == 0
        assert subscriptions.erase_for(s, ["o_spend", None]) == 2
        s.commit()
        db.session.remove()
