"""Content safety: WeChat's msg_sec_check (the sandbox, with its own keyword list) and our own list
(content/safety.toml), the stricter verdict winning, and the fallback to "review" whenever WeChat's check
cannot run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from bot import content
from sandbox.faults import Fault
from services.content_safety import SafetyVerdict, check_text, miniprogram_openid
from services.models import ApiSession
from tests import test_cli_content
from tests.factories import make_user

scratch_content = test_cli_content.scratch_content  # the fixture: a scratch copy of content/
OPENID = "o_safety_user"
# The sandbox's WeChat list for these tests: words deliberately NOT on our own list, and one on both.
WECHAT_WORDS = {"risky": ["沙箱违规词", "代开发票"], "review": ["沙箱复核词"]}


@pytest.fixture
def wechat_words(sandbox: Any) -> Iterator[None]:
    config = sandbox.state.config
    saved = config.sec_check_keywords
    config.sec_check_keywords = WECHAT_WORDS
    yield
    config.sec_check_keywords = saved
    sandbox.state.clear_faults()


def in_app(app: Flask, text: str, openid: str | None = OPENID) -> SafetyVerdict:
    with app.app_context():
        return check_text(text, openid=openid)


def test_clean_text_passes_when_wechat_checked_it(app: Flask, wechat_words: None, sandbox: Any) -> None:
    assert in_app(app, "我想要一个新书包，开学用。") == SafetyVerdict("pass", None, "wechat")
    assert sandbox.state.calls().get("msg_sec_check") == 1


def test_wechat_verdicts_review_and_risky(app: Flask, wechat_words: None) -> None:
    review = in_app(app, "这里有一个沙箱复核词")
    assert (review.suggest, review.source) == ("review", "wechat") and review.reason
    risky = in_app(app, "这里有一个沙箱违规词")
    assert (risky.suggest, risky.source) == ("risky", "wechat") and risky.reason


def test_our_list_is_stricter_than_wechat(app: Flask, wechat_words: None) -> None:
    # WeChat passes it, our list holds it: ours wins, and says why.
    held = in_app(app, "有需要可以加微信聊")
    assert held == SafetyVerdict("review", "疑似引流或交易", "keywords")
    refused = in_app(app, "周末一起去赌博")
    assert refused == SafetyVerdict("risky", "涉及违法违规内容", "keywords")
    # Both flag it as risky: WeChat's verdict stands.
    assert in_app(app, "可以代开发票").source == "wechat"
    # Contact details are held for a person to look at, even when WeChat passes the text.
    assert in_app(app, "有事打我电话13812345678").suggest == "review"


def test_our_list_sees_through_spacing_and_traditional_characters(app: Flask, wechat_words: None) -> None:
    assert in_app(app, "賭 博").suggest == "risky"
    assert in_app(app, "加 微 信").suggest == "review"


@pytest.mark.parametrize("fault", [Fault(errcode=-1), Fault(errcode=45009), Fault(drop=True)])
def test_wechat_failure_falls_back_to_review_never_pass(
    make_app: Any, sandbox: Any, wechat_words: None, fault: Fault
) -> None:
    app = make_app(WECHAT_RETRY_ATTEMPTS=0, WECHAT_RETRY_BACKOFF_SECONDS=0)
    sandbox.state.set_fault("msg_sec_check", fault)
    unchecked = in_app(app, "我想要一个新书包")
    assert unchecked.suggest == "review" and unchecked.source == "fallback" and unchecked.reason
    # Our own list still refuses what it knows.
    assert in_app(app, "周末一起去赌博") == SafetyVerdict("risky", "涉及违法违规内容", "fallback")


def test_timeout_falls_back_to_review(make_app: Any, sandbox: Any, wechat_words: None) -> None:
    app = make_app(HTTP_TIMEOUT_SECONDS=0.2, WECHAT_RETRY_ATTEMPTS=0)
    sandbox.state.set_fault("msg_sec_check", Fault(latency_ms=1000))
    assert in_app(app, "我想要一个新书包").source == "fallback"


def test_no_openid_no_client_or_no_app_means_review(make_app: Any, wechat_words: None) -> None:
    app = make_app()
    assert in_app(app, "我想要一个新书包", openid=None).suggest == "review"
    without_mp = make_app(MINIPROGRAM_APPID=None, MINIPROGRAM_SECRET=None)
    assert in_app(without_mp, "我想要一个新书包").source == "fallback"
    assert check_text("我想要一个新书包", openid=OPENID).suggest == "review"  # no app context at all
    assert check_text("   ").suggest == "pass"  # nothing to show anyone


def test_long_text_is_checked_in_pieces(app: Flask, wechat_words: None, sandbox: Any) -> None:
    text = "好" * 2800 + "沙箱违规词"
    assert in_app(app, text).suggest == "risky"
    assert sandbox.state.calls().get("msg_sec_check") == 2


def test_miniprogram_openid_needs_a_recent_login(db_session: Any) -> None:
    user = make_user(db_session)
    assert miniprogram_openid(db_session, user) is None
    assert miniprogram_openid(db_session, user, in_miniprogram=True) == user.openid
    now = datetime.now(UTC)
    db_session.add(
        ApiSession(
            token_hash="a" * 64,
            user_id=user.id,
            created_at=now - timedelta(hours=3),
            expires_at=now + timedelta(days=1),
        )
    )
    db_session.commit()
    assert miniprogram_openid(db_session, user, now=now) is None
    db_session.add(
        ApiSession(
            token_hash="b" * 64,
            user_id=user.id,
            created_at=now - timedelta(minutes=30),
            expires_at=now + timedelta(days=1),
        )
    )
    db_session.commit()
    assert miniprogram_openid(db_session, user, now=now) == user.openid
    oa_only = make_user(db_session, openid=None, oa_openid="oa-safety")
    assert miniprogram_openid(db_session, oa_only, in_miniprogram=True) is None


def test_safety_list_is_linted(app: Flask, scratch_content: Path) -> None:
    result = app.test_cli_runner().invoke(args=["content", "lint"])
    assert result.exit_code == 0, result.output
    (scratch_content / "safety.toml").write_text(
        '[[rules]]\nsuggest = "maybe"\nwords = []\npatterns = ["(unclosed"]\n'
    )
    content.reload()
    result = app.test_cli_runner().invoke(args=["content", "lint"])
    assert result.exit_code == 1
    assert "safety.toml: rule 1 suggest must be review or risky" in result.output
    assert "safety.toml: rule 1 needs a reason" in result.output
    assert "safety.toml: pattern '(unclosed' does not compile" in result.output
