"""The chat simulator in a real browser: headless Debian Chromium driving the page against the live bot.

Needs /usr/bin/chromium and /usr/bin/chromedriver (`make test` installs them when it can); skipped without
them unless REQUIRE_BROWSER=1. Selenium Manager is never used: nothing here downloads a browser or driver.
On failure a screenshot and the page source land in test-artifacts/.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bot import content
from sandbox import SandboxConfig, SandboxServer
from sandbox.simulator import UNAVAILABLE
from tests.conftest import AES_KEY, AppFactory
from tests.live_server import serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
WAIT_SECONDS = 8


def _missing() -> str | None:
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if absent:
        return "no browser: " + ", ".join(absent) + " missing (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install 'selenium>=4.20,<5')"
    return None


@pytest.fixture
def driver() -> Iterator[Any]:
    missing = _missing()
    if missing:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
    # An explicit driver path keeps Selenium Manager (which downloads drivers) out of the picture.
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(15)
    try:
        yield browser
    finally:
        browser.quit()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def artifacts_on_failure(browser: Any, name: str) -> Iterator[None]:
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))
        (ARTIFACTS / f"{name}.html").write_text(browser.page_source, encoding="utf-8")
        raise


def test_chat_menu_and_unfollow_in_the_simulator(make_app: AppFactory, driver: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    # The bot calls the sandbox and the sandbox pushes to the bot, so one port is chosen before either starts.
    sandbox_port = _free_port()
    app = make_app(WECHAT_API_BASE=f"http://127.0.0.1:{sandbox_port}", WECHAT_AES_KEY=AES_KEY)
    wait = WebDriverWait(driver, WAIT_SECONDS)

    def passive_replies() -> list[Any]:
        return driver.find_elements(By.CSS_SELECTOR, '#timeline .entry.out[data-channel="passive"] .bubble')

    def reply_count_above(count: int) -> Any:
        return lambda _: len(passive_replies()) > count and passive_replies()

    with serving(app) as bot_url:
        config = SandboxConfig.from_settings(app.config["SETTINGS"], f"{bot_url}/wechat")
        with SandboxServer(config, port=sandbox_port) as sandbox, artifacts_on_failure(driver, "simulator"):
            assert sandbox.url == f"http://127.0.0.1:{sandbox_port}"
            driver.get(f"{sandbox.url}/")
            wait.until(ec.title_contains("聊天模拟器"))

            # A new follower follows the account: the webhook (safe mode) answers with the welcome.
            driver.find_element(By.ID, "new-nickname").send_keys("小测")
            driver.find_element(By.ID, "create-follower").click()
            wait.until(ec.url_contains("openid=o_sim_"))
            welcome = wait.until(reply_count_above(0))
            assert welcome[0].get_attribute("textContent") == content.text("welcome")
            openid = driver.current_url.split("openid=", 1)[1]
            assert sandbox.state.follower(openid) is not None
            assert "小测" in driver.find_element(By.CSS_SELECTOR, ".follower-list li.active").text

            # The account has a menu, so the keyboard is one tap away, as in WeChat.
            driver.find_element(By.ID, "to-keyboard").click()
            box = wait.until(ec.visibility_of_element_located((By.ID, "message")))
            box.send_keys("你好")
            driver.find_element(By.ID, "send").click()
            replies = wait.until(reply_count_above(1))
            assert replies[1].get_attribute("textContent") == content.text("greeting")
            mine = driver.find_elements(By.CSS_SELECTOR, '#timeline .entry.in[data-kind="text"] .bubble')
            assert [m.text for m in mine] == ["你好"]

            # Menu: 12355 → 心理与法律帮助 pushes a CLICK event and shows the referral.
            driver.find_element(By.ID, "to-menu").click()
            top = wait.until(ec.element_to_be_clickable((By.XPATH, '//button[@class="menu-top"][.="12355"]')))
            top.click()
            help_item = (By.CSS_SELECTOR, '.menu-leaf[data-key="HELP_12355"]')
            leaf = wait.until(ec.element_to_be_clickable(help_item))
            assert leaf.text == "心理与法律帮助"
            leaf.click()
            replies = wait.until(reply_count_above(2))
            assert "12355 共青团青少年服务台" in replies[2].get_attribute("textContent")
            clicks = [e for e in sandbox.state.timeline(openid) if e.kind == "click"]
            assert [c.payload["key"] for c in clicks] == ["HELP_12355"]
            click_line = driver.find_element(By.CSS_SELECTOR, '#timeline .entry.in[data-kind="click"]')
            assert "心理与法律帮助" in click_line.text

            # The webhook unreachable: the user sees WeChat's notice, the developer the reason under it.
            config.webhook_url = f"http://127.0.0.1:{_free_port()}/wechat"
            driver.find_element(By.ID, "to-keyboard").click()
            wait.until(ec.visibility_of_element_located((By.ID, "message"))).send_keys("在吗")
            driver.find_element(By.ID, "send").click()
            notice = (By.CSS_SELECTOR, "#timeline .system.error")
            failure = wait.until(ec.visibility_of_element_located(notice))
            assert UNAVAILABLE in failure.text
            assert "cannot connect" in failure.find_element(By.CSS_SELECTOR, ".detail").text
            assert len(passive_replies()) == 3
            config.webhook_url = f"{bot_url}/wechat"

            # Fault injection from the panel lands in the sandbox, and clears again.
            form = driver.find_element(By.ID, "fault-form")
            Select(form.find_element(By.NAME, "endpoint")).select_by_value("custom_send")
            form.find_element(By.NAME, "errcode").send_keys("45015")
            form.find_element(By.NAME, "times").send_keys("2")
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            faults = (By.ID, "fault-list")
            wait.until(ec.text_to_be_present_in_element(faults, "custom_send · 错误码 45015 · 剩 2 次"))
            assert sandbox.state.faults()["custom_send"].errcode == 45015
            driver.find_element(By.ID, "clear-faults").click()
            wait.until(ec.text_to_be_present_in_element(faults, "没有故障"))
            assert sandbox.state.faults() == {}

            # Unfollow: the state changes and the chat input goes away.
            driver.find_element(By.ID, "unfollow-btn").click()
            wait.until(ec.text_to_be_present_in_element((By.ID, "follow-status"), "已取消关注"))
            wait.until(ec.visibility_of_element_located((By.ID, "not-following")))
            assert not driver.find_element(By.ID, "message").is_displayed()
            follower = sandbox.state.follower(openid)
            assert follower is not None and not follower.following
            assert [e.kind for e in sandbox.state.timeline(openid) if e.direction == "in"] == [
                "follow",
                "text",
                "click",
                "text",
                "unfollow",
            ]
            assert driver.get_log("browser") == []
