"""What the traineeship and activity lists share: reading filters out of a message, and dates as people say
them. (Paging words, numbers and fitting a text into one WeChat message are in `bot.dialogue.focus`.)"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot import content
from services.eligibility import BEIJING


def vocab(words: str) -> tuple[str, ...]:
    return tuple(words.split())


DISTRICTS = vocab("东城 西城 朝阳 海淀 丰台 石景山 门头沟 房山 通州 顺义 昌平 大兴 怀柔 平谷 密云 延庆")
EDUCATION_WORDS = dict(
    pair.split(":")
    for pair in vocab(
        "博士:doctor 硕士:master 研究生:master 本科:bachelor 大专:associate 专科:associate "
        "中专:vocational 职高:vocational 高中:high_school"
    )
)
STIPEND = re.compile(r"(\d{3,5})(?:元|块)?(?:以上|起|往上|多)")
# Filler around a request ("有没有…的…吗"); what is left after it is read as a keyword.
FILLER = vocab(
    "有没有 有什么 有哪些 有啥 什么 哪些 推荐 一下 看看 查看 查询 帮我 给我 我想找 我想要 我想 我要 想找 "
    "想要 最新 最近 近期 附近 方面 相关 方向 请问 你好 您好 一些 这个 那个 能报 可以报 能申请 "
    "想当 想去 想参加 还有 名额 位置 好的 好吧 知道了 收到 明白 嗯 哦 噢 的 吗 呢 啊 呀 吧 么 些"
)
# What is left of a question ("补贴怎么领") is not a keyword to search for.
QUESTION = re.compile(r"怎|什么|多少|哪|为何|如何|啥|能不能|可不可以|是不是|几")


def read_filters(
    compact: str, stop_words: tuple[str, ...], education: bool = True
) -> tuple[dict[str, Any], str | None]:
    """District, education level and stipend named in the message, and a short keyword left over, if any."""
    found: dict[str, Any] = {}
    stipend = STIPEND.search(compact) if education else None
    if stipend:
        found["min_stipend"] = int(stipend.group(1))
        compact = compact.replace(stipend.group(0), "")
    for district in DISTRICTS:
        if district in compact:
            found["district"] = f"{district}区"
            compact = compact.replace(f"{district}区", "").replace(district, "")
            break
    for word, level in EDUCATION_WORDS.items() if education else ():
        if word in compact:
            found["education"] = level
            compact = compact.replace(word, "")
            break
    for word in (*stop_words, *FILLER):
        compact = compact.replace(word, "")
    if 2 <= len(compact) <= 6 and not compact.isdigit() and not QUESTION.search(compact):
        return found, compact
    return found, None


def when(moment: datetime) -> str:
    """'11月28日 周六 14:00', Beijing time."""
    local = moment.astimezone(BEIJING)
    return content.text(
        "activity_when",
        month=local.month,
        day=local.day,
        weekday=content.text("weekday_names")[local.weekday()],
        time=local.strftime("%H:%M"),
    )
