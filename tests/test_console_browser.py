"""The staff console in a real browser: headless Debian Chromium against the live app and the sandbox.

A staff member who is both editor and counselor logs in, creates and publishes an activity, broadcasts to its
sign-ups and watches the progress bar reach 100% while a delivery worker drains the outbox, then answers a
crisis case in the help inbox. Skipped without Chromium unless REQUIRE_BROWSER=1; on failure a screenshot
and the page source land in test-artifacts/ (helpers shared with tests/test_browser.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from bot.extensions import db
from services import activities
from services.help_cases import open_crisis_case
from services.models import Activity, User
from tests.conftest import AppFactory
from tests.console_fixtures import PASSWORD, create, domain_console_app
from tests.delivery_support import DELIVERY_SETTINGS, open_window, person
from tests.live_server import serving
from tests.test_browser import artifacts_on_failure, driver  # noqa: F401  (the fixture, reused)

WAIT_SECONDS = 10


@pytest.fixture
def live_app(make_app: AppFactory) -> Iterator[Flask]:
    with domain_console_app(make_app, **DELIVERY_SETTINGS) as app:
        yield app


def _sign_up(app: Flask, activity_title: str, users: list[User]) -> int:
    with app.app_context():
        activity = db.session.query(Activity).filter_by(title=activity_title).one()
        for user in users:
            activities.sign_up(db.session, db.session.get(User, user.id), activity.id)
        activity_id = activity.id
        db.session.remove()
    return activity_id


def test_activity_broadcast_and_crisis_reply(live_app: Flask, sandbox: Any, driver: Any) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    username = create(live_app, "editor counselor")
    wait = WebDriverWait(driver, WAIT_SECONDS)
    stop = threading.Event()
    from services.delivery_worker import run_worker

    worker = threading.Thread(target=run_worker, args=(live_app, stop, "browser-worker"), daemon=True)
    worker.start()
    try:
        with serving(live_app) as base, artifacts_on_failure(driver, "console"):
            # Log in.
            driver.get(f"{base}/console/login")
            driver.find_element(By.NAME, "username").send_keys(username)
            driver.find_element(By.NAME, "password").send_keys(PASSWORD)
            driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
            wait.until(ec.presence_of_element_located((By.ID, "current-staff")))

            # Create and publish an activity through the form.
            driver.find_element(By.ID, "nav-activities").click()
            wait.until(ec.element_to_be_clickable((By.ID, "new-activity"))).click()
            form = wait.until(ec.presence_of_element_located((By.ID, "activity-form")))
            for name, value in {
                "title": "浏览器测试读书会",
                "district": "西城区",
                "location": "西城区青年之家",
                "capacity": "10",
            }.items():
                form.find_element(By.NAME, name).send_keys(value)
            category = form.find_element(By.NAME, "category")
            category.clear()
            category.send_keys("读书会")
            # datetime-local typing depends on the browser's locale; set the value as the picker would.
            driver.execute_script(
                "arguments[0].value = '2099-05-01T14:00'", form.find_element(By.NAME, "starts_at")
            )
            driver.find_element(By.ID, "save-activity").click()
            wait.until(ec.text_to_be_present_in_element((By.ID, "activity-status"), "草稿"))
            driver.find_element(By.XPATH, '//form[contains(@action, "/publish")]//button').click()
            wait.until(ec.text_to_be_present_in_element((By.ID, "activity-status"), "报名中"))

            # Two people sign up: one inside their customer-service window, one reached by template message.
            people = [person(live_app, sandbox, window=True), person(live_app, sandbox)]
            _sign_up(live_app, "浏览器测试读书会", people)
            driver.refresh()

            # Broadcast to the sign-ups; the live check counts them before sending.
            wait.until(ec.element_to_be_clickable((By.ID, "notify-signups"))).click()
            wait.until(ec.presence_of_element_located((By.ID, "broadcast-form")))
            driver.find_element(By.ID, "broadcast-title").send_keys("读书会地点变更")
            driver.find_element(By.ID, "broadcast-body").send_keys("本周六改到三楼多功能厅，时间不变。")
            wait.until(ec.text_to_be_present_in_element((By.ID, "preview-cards"), "读书会地点变更"))
            assert "预计 2 人" in driver.find_element(By.ID, "audience-count").text
            assert driver.find_element(By.ID, "preview-problems").get_attribute("hidden") is not None
            wait.until(ec.element_to_be_clickable((By.ID, "send-broadcast"))).click()

            # The progress bar reaches 100% while the worker drains the outbox.
            wait.until(ec.text_to_be_present_in_element((By.ID, "broadcast-percent"), "100"))
            job = driver.find_element(By.ID, "broadcast-job")
            wait.until(lambda _: job.get_attribute("data-state") == "done")
            assert driver.find_element(By.ID, "broadcast-progress").get_attribute("value") == "100"
            assert "已送达 2" in driver.find_element(By.ID, "broadcast-summary").text
            channels = driver.find_element(By.ID, "report-channels").text
            assert "客服消息：1" in channels and "模板消息：1" in channels
            assert not driver.find_element(By.ID, "cancel-broadcast").is_displayed()

            # A crisis case: open it from the inbox and answer inside the window.
            crisis = person(live_app, sandbox, window=True)
            with live_app.app_context():
                case = open_crisis_case(
                    db.session,
                    crisis.oa_openid or "",
                    "browser-crisis",
                    "suicide",
                    "不想活了",
                    [{"role": "user", "text": "我真的不想活了", "at": 0}],
                )
                db.session.remove()
            open_window(live_app, sandbox, crisis.oa_openid or "")
            driver.find_element(By.ID, "nav-help_inbox").click()
            link = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, f"#case-{case.id} a.case-link")))
            link.click()
            wait.until(ec.text_to_be_present_in_element((By.ID, "transcript"), "我真的不想活了"))
            driver.find_element(By.ID, "reply-text").send_keys("我是团区委的老师，我在这里陪着你。")
            driver.find_element(By.ID, "reply-submit").click()
            wait.until(ec.text_to_be_present_in_element((By.ID, "flashes"), "回复已发送"))
            texts = [
                m.payload.get("text", {}).get("content", "")
                for m in sandbox.state.sent(api="custom_send", openid=crisis.oa_openid, accepted=True)
            ]
            assert "我是团区委的老师，我在这里陪着你。" in texts
            # No script errors (the browser's own favicon request is not ours to answer).
            logs = [e for e in driver.get_log("browser") if "favicon.ico" not in e["message"]]
            assert logs == []
    finally:
        stop.set()
        worker.join(timeout=5)
