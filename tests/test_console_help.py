"""The help inbox: crisis first, transcripts for counselors only, masked phones, replies through the sandbox's
customer-service window, assignment, notes, closing, the live feed, and the audit trail of it all."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from bot.extensions import db
from services import help_cases, help_inbox
from services.errors import Forbidden
from services.models import HelpCase
from services.models_staff import AuditLog, HelpCaseNote, StaffUser
from tests.conftest import AES_KEY, APPID, TOKEN, wait_for_cases
from tests.console_fixtures import *  # noqa: F403
from tests.console_fixtures import StaffClient
from tests.wechat_factory import WeChatPusher

CRISIS_TEXT = "我真的不想活了"


@pytest.fixture
def wechat_console(console_app: Flask, sandbox: Any) -> WeChatPusher:
    """Young people's messages to the same app the staff use (same Redis: the window is shared)."""
    return WeChatPusher(console_app.test_client(), TOKEN, APPID, AES_KEY, sandbox=sandbox)


def crisis_case(app: Flask, wechat: WeChatPusher, openid: str) -> int:
    wechat.text(CRISIS_TEXT, openid=openid)
    (case,) = wait_for_cases(app, openid, "crisis")
    return int(case.id)


def callback_case(app: Flask, openid: str, phone: str = "13800138000") -> int:
    with app.app_context():
        ref = help_cases.request_callback(
            db.session,
            openid,
            f"cb-{openid}",
            category="study",
            age_band="18to24",
            guardian_consent=None,
            phone=phone,
            preferred_time="晚上",
        )
        db.session.remove()
    return ref.id


def human_case(app: Flask, openid: str) -> int:
    with app.app_context():
        ref = help_cases.open_human_case(
            db.session, openid, f"h-{openid}", [{"role": "user", "text": "我想找个人聊聊", "at": 1}]
        )
        db.session.remove()
    return ref.id


def audit_actions(app: Flask, target: str) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.target == target).order_by(AuditLog.id))
        result = [(r.actor, r.action) for r in rows]
        db.session.remove()
    return result


def window_left(page: str) -> int:
    match = re.search(r'id="window-remaining" data-left="(\d+)"', page)
    assert match, page
    return int(match.group(1))


def test_crisis_cases_come_first_with_a_red_mark_and_a_timer(
    console_app: Flask, wechat_console: WeChatPusher, counselor: StaffClient
) -> None:
    human = human_case(console_app, "o-human")
    callback = callback_case(console_app, "o-callback")
    crisis = crisis_case(console_app, wechat_console, "o-crisis")
    page = counselor.get("/console/help").get_data(as_text=True)
    positions = [page.index(f'id="case-{case_id}"') for case_id in (crisis, callback, human)]
    assert positions == sorted(positions)
    row = page[positions[0] : page.index("</tr>", positions[0])]
    assert 'class="crisis"' in row and "badge crisis" in row and "data-since=" in row


def test_crisis_transcript_is_for_counselors_only(
    console_app: Flask, wechat_console: WeChatPusher, staff_login: Any
) -> None:
    case_id = crisis_case(console_app, wechat_console, "o-crisis-2")
    counselor = staff_login("counselor")
    admin = staff_login("admin")
    both = staff_login("admin counselor")
    editor = staff_login("editor")

    assert CRISIS_TEXT in counselor.get(f"/console/help/{case_id}").get_data(as_text=True)
    reads = [
        a for a in audit_actions(console_app, f"help_case:{case_id}") if a[1] == "help_case.read_transcript"
    ]
    assert reads == [(f"staff:{counselor.username}", "help_case.read_transcript")]
    assert CRISIS_TEXT in both.get(f"/console/help/{case_id}").get_data(as_text=True)
    assert "<strong>12356</strong>" in both.get(f"/console/help/{case_id}").get_data(
        as_text=True
    )  # lines at hand
    admin_page = admin.get(f"/console/help/{case_id}")
    assert admin_page.status_code == 200
    assert CRISIS_TEXT not in admin_page.get_data(as_text=True)
    assert 'id="transcript-restricted"' in admin_page.get_data(as_text=True)
    assert editor.get(f"/console/help/{case_id}").status_code == 403

    # The same rule holds below the routes.
    with console_app.app_context():
        case = db.session.get(HelpCase, case_id)
        admin_row = db.session.scalars(select(StaffUser).where(StaffUser.username == admin.username)).one()
        with pytest.raises(Forbidden):
            help_inbox.transcript(db.session, admin_row, case)
        db.session.remove()


def test_hand_off_transcripts_are_open_to_admins(console_app: Flask, admin: StaffClient) -> None:
    case_id = human_case(console_app, "o-human-2")
    assert "我想找个人聊聊" in admin.get(f"/console/help/{case_id}").get_data(as_text=True)


def test_callback_phone_is_masked_unless_counselor(console_app: Flask, staff_login: Any) -> None:
    case_id = callback_case(console_app, "o-cb-2", phone="13912345678")
    counselor_page = staff_login("counselor").get(f"/console/help/{case_id}").get_data(as_text=True)
    admin_page = staff_login("admin").get(f"/console/help/{case_id}").get_data(as_text=True)
    assert '<span id="case-phone">13912345678</span>' in counselor_page
    assert '<span id="case-phone">139****5678</span>' in admin_page
    assert "13912345678" not in admin_page


def test_reply_goes_out_through_the_customer_service_window(
    console_app: Flask, wechat_console: WeChatPusher, sandbox: Any, counselor: StaffClient
) -> None:
    openid = "o-reply"
    case_id = crisis_case(console_app, wechat_console, openid)
    before = window_left(counselor.get(f"/console/help/{case_id}").get_data(as_text=True))
    assert before >= 1
    sent_before = len(sandbox.state.sent(api="custom_send", openid=openid))

    response = counselor.post(
        f"/console/help/{case_id}/reply", data={"text": "你好，我是团区委的老师，我在。"}
    )
    assert response.status_code == 302
    sent = sandbox.state.sent(api="custom_send", openid=openid)
    assert len(sent) == sent_before + 1
    assert sent[-1].accepted and sent[-1].payload["text"]["content"] == "你好，我是团区委的老师，我在。"

    page = counselor.get(f"/console/help/{case_id}").get_data(as_text=True)
    assert "回复已发送" in page
    assert window_left(page) == before - 1
    assert "你好，我是团区委的老师，我在。" in page  # in the transcript and the notes
    with console_app.app_context():
        case = db.session.get(HelpCase, case_id)
        assert case.assigned_to == counselor.username  # who answers first takes it
        assert case.transcript[-1]["role"] == "staff"
        notes = list(db.session.scalars(select(HelpCaseNote).where(HelpCaseNote.case_id == case_id)))
        assert [(n.kind, n.author) for n in notes] == [("reply", counselor.username)]
        db.session.remove()
    assert (f"staff:{counselor.username}", "help_case.reply") in audit_actions(
        console_app, f"help_case:{case_id}"
    )


def test_reply_is_refused_when_the_window_is_closed(
    console_app: Flask, sandbox: Any, counselor: StaffClient
) -> None:
    case_id = callback_case(console_app, "o-never-wrote")
    page = counselor.get(f"/console/help/{case_id}").get_data(as_text=True)
    assert window_left(page) == 0 and 'id="reply-submit" disabled' in page
    response = counselor.post(f"/console/help/{case_id}/reply", data={"text": "您好"}, follow_redirects=True)
    assert "客服消息窗口已关闭" in response.get_data(as_text=True)
    assert sandbox.state.sent(api="custom_send", openid="o-never-wrote") == []
    with console_app.app_context():
        assert db.session.scalars(select(HelpCaseNote).where(HelpCaseNote.case_id == case_id)).first() is None
        db.session.remove()
    assert (f"staff:{counselor.username}", "help_case.reply_failed") in audit_actions(
        console_app, f"help_case:{case_id}"
    )


def test_assign_note_and_close_with_an_outcome(
    console_app: Flask, staff_login: Any, counselor: StaffClient
) -> None:
    colleague = staff_login("counselor")
    editor = staff_login("editor")
    case_id = human_case(console_app, "o-flow")
    target = f"help_case:{case_id}"

    refused = counselor.post(
        f"/console/help/{case_id}/assign", data={"assigned_to": editor.username}, follow_redirects=True
    )
    assert "只能指派给" in refused.get_data(as_text=True)
    counselor.post(f"/console/help/{case_id}/assign", data={"assigned_to": colleague.username})
    counselor.post(f"/console/help/{case_id}/note", data={"note": "已电话联系家长"})
    missing = counselor.post(f"/console/help/{case_id}/close", data={"outcome": ""}, follow_redirects=True)
    assert "请选择处理结果" in missing.get_data(as_text=True)
    done = colleague.post(
        f"/console/help/{case_id}/close", data={"outcome": "answered", "note": "问题已答复"}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/console/help")
    again = colleague.post(
        f"/console/help/{case_id}/close", data={"outcome": "answered"}, follow_redirects=True
    )
    assert "已经结案" in again.get_data(as_text=True)

    with console_app.app_context():
        case = db.session.get(HelpCase, case_id)
        assert (case.status, case.outcome, case.closed_by, case.assigned_to) == (
            "closed",
            "answered",
            colleague.username,
            colleague.username,
        )
        assert case.closed_at is not None
        bodies = [
            n.body for n in db.session.scalars(select(HelpCaseNote).where(HelpCaseNote.case_id == case_id))
        ]
        assert bodies == ["已电话联系家长", "问题已答复"]
        db.session.remove()
    assert audit_actions(console_app, target) == [
        (f"staff:{counselor.username}", "help_case.assign"),
        (f"staff:{counselor.username}", "help_case.note"),
        (f"staff:{colleague.username}", "help_case.close"),
    ]
    open_page = counselor.get("/console/help").get_data(as_text=True)
    assert f'id="case-{case_id}"' not in open_page
    closed_page = counselor.get("/console/help?status=closed").get_data(as_text=True)
    assert f'id="case-{case_id}"' in closed_page and "已答复" in closed_page


def test_new_crisis_cases_reach_the_open_page_through_the_feed(
    console_app: Flask, wechat_console: WeChatPusher, counselor: StaffClient
) -> None:
    first = crisis_case(console_app, wechat_console, "o-feed-1")
    page = counselor.get("/console/help").get_data(as_text=True)
    assert f'data-latest="{first}"' in page and "help_inbox.js" in page
    assert counselor.get(f"/console/help/feed.json?after={first}").get_json()["cases"] == []

    second = crisis_case(console_app, wechat_console, "o-feed-2")
    human_case(console_app, "o-feed-3")  # not pushed: only crises interrupt
    feed = counselor.get(f"/console/help/feed.json?after={first}").get_json()
    assert [c["id"] for c in feed["cases"]] == [second]
    assert feed["cases"][0]["kind"] == "crisis" and feed["cases"][0]["url"] == f"/console/help/{second}"
    assert feed["cases"][0]["category"] in help_inbox.CRISIS_CATEGORY_LABELS.values()  # in Chinese
    assert feed["latest"] == second
    assert feed["open_counts"] == {"crisis": 2, "callback": 0, "human": 1}
    assert counselor.get(f"/console/help/feed.json?after={second}").get_json()["cases"] == []


def test_feed_needs_a_signed_in_counselor(console_app: Flask, anonymous: Any, viewer: StaffClient) -> None:
    response = anonymous.get("/console/help/feed.json")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "login_required"
    assert viewer.get("/console/help/feed.json").status_code == 403


def test_phone_numbers_typed_in_a_hand_off_are_masked_for_admins(
    console_app: Flask, staff_login: Any
) -> None:
    with console_app.app_context():
        ref = help_cases.open_human_case(
            db.session, "o-typed", "h-typed", [{"role": "user", "text": "请打我电话13912345678", "at": 1}]
        )
        db.session.remove()
    admin_page = staff_login("admin").get(f"/console/help/{ref.id}").get_data(as_text=True)
    counselor_page = staff_login("counselor").get(f"/console/help/{ref.id}").get_data(as_text=True)
    assert "请打我电话139****5678" in admin_page and "13912345678" not in admin_page
    assert "请打我电话13912345678" in counselor_page
