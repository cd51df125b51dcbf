"""Tells staff on duty when WeChat says our configuration is wrong (bad template, page, permission).

Such errors repeat for every recipient of a broadcast, so each (app, API, error code) alerts at most once per
CONFIG_ALERT_INTERVAL_SECONDS. The alert goes to staff on duty as a customer-service message, which reaches
only those inside their own window; every alert is therefore also logged at CRITICAL and kept in Redis for
the console, and errors that make any send impossible (a wrong app secret) can only be seen there.
"""

from __future__ import annotations

import json
import logging
import time

from redis.exceptions import RedisError

from bot.content import text
from bot.extensions import RedisExtension
from bot.followup import FollowUps
from bot.settings import Settings
from bot.wechat.errors import POLICY, SendResult
from bot.wechat.replies import Text

log = logging.getLogger(__name__)

RECENT = "alerts:config"
KEEP = 100


class ConfigAlerts:
    def __init__(self, settings: Settings, rx: RedisExtension) -> None:
        self.settings = settings
        self.rx = rx
        self.followups: FollowUps | None = None  # wired after the follow-up pool exists

    def __call__(self, appid: str, result: SendResult) -> None:
        log.critical(
            "WeChat configuration error for %s: %s %s %s", appid, result.api, result.errcode, result.errmsg
        )
        client = self.rx.client
        assert client is not None
        once = self.rx.key("alert", "config", appid, result.api, str(result.errcode))
        try:
            if not client.set(once, "1", nx=True, ex=self.settings.CONFIG_ALERT_INTERVAL_SECONDS):
                return
            entry = {
                "at": time.time(),
                "appid": appid,
                "api": result.api,
                "errcode": result.errcode,
                "errmsg": result.errmsg,
            }
            client.lpush(self.rx.key(RECENT), json.dumps(entry, ensure_ascii=False))
            client.ltrim(self.rx.key(RECENT), 0, KEEP - 1)
        except RedisError as exc:
            log.error("could not record configuration alert: %s", exc)
        if self.followups is None:
            return
        policy = POLICY.get(result.errcode or 0)
        message = text(
            "staff_config_alert",
            appid=appid,
            api=result.api,
            errcode=str(result.errcode),
            meaning=policy.meaning if policy else result.errmsg,
        )
        for openid in self.settings.STAFF_ALERT_OPENIDS:
            self.followups.send(openid, Text(message))

    def recent(self) -> list[dict[str, object]]:
        client = self.rx.client
        assert client is not None
        return [json.loads(raw) for raw in client.lrange(self.rx.key(RECENT), 0, KEEP - 1)]
