"""微心愿 in chat, through the signed webhook: the wall and a wish in detail (anonymised), 认领, 已送达, the
submit form (age band first, a guardian's consent for under-14s before anything else, validated,
cancellable), 我的心愿 with a request for more answered by 补充, and 心愿已收到 with a thank-you."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services import users, wishes
from services.models import UserNotice
from services.models_wishes import Wish
from tests.wechat_factory import WeChatPusher, event_xml

STAFF = "staff:王老师"
SECRETS = ("李小雨", "红星中学", "13812345678", "幸福小区")


def a_wish(session: Session, **changes: Any) -> Wish:
    submitter = users.get_or_create_oa_user(session, "o_sub_" + uuid.uuid4().hex[:8])
    data = {
        "on_behalf_of": "guardian",
        "age_band": "under14",
        "guardian_consent": True,
        "alias": "小雨",
        "district": "西城区",
        "item": "一个新书包",
        "story": "孩子在红星中学读三年级，住在幸福小区，书包破了，希望有个新书包。",
        "price_band": "100to300",
        "beneficiary_name": "李小雨",
        "school": "红星中学",
        "contact_phone": "13812345678",
        **changes,
    }
    wish = wishes.submit_wish(session, submitter, data)
    return wishes.approve_wish(
        session, wish.id, STAFF, public_story="三年级的小朋友，书包破了，希望有个新书包。"
    )


@pytest.fixture
def openid() -> str:
    return "o_wish_" + uuid.uuid4().hex[:10]


def fresh(session: Session, wish_id: int) -> Wish:
    session.expire_all()
    wish = session.get(Wish, wish_id)
    assert wish is not None
    return wish


def test_wall_detail_claim_and_delivered(db_session: Session, wechat: WeChatPusher, openid: str) -> None:
    wish = a_wish(db_session)
    listed = wechat.push(event_xml("CLICK", openid=openid, EventKey="MICRO_WISH")).text
    assert "1. 小雨（14岁以下，西城区）想要：一个新书包" in listed and "100–300元" in listed
    detail = wechat.text("1", openid=openid).text
    assert "【小雨的心愿】" in detail and "三年级的小朋友" in detail and "回复“认领”" in detail
    for text in (listed, detail):
        assert not any(secret in text for secret in SECRETS)
    rival = openid + "_rival"
    assert "小雨" in wechat.text("心愿", openid=rival).text  # sees it on the wall too …
    claimed = wechat.text("认领", openid=openid).text
    assert "认领成功" in claimed and "已送达" in claimed
    row = fresh(db_session, wish.id)
    assert row.status == "claimed" and row.claimed_by is not None
    # … but is too late; the wall is empty again.
    assert "已被其他爱心人士认领" in wechat.text("认领 1", openid=rival).text
    assert "心愿墙上暂时没有" in wechat.text("心愿", openid=rival).text
    mine = wechat.text("我认领的心愿", openid=openid).text
    assert "1. 一个新书包（小雨）｜已被认领｜请在" in mine
    done = wechat.text("已送达 放在团区委前台了", openid=openid).text
    assert "已记录「一个新书包」送出" in done
    row = fresh(db_session, wish.id)
    assert row.status == "delivered" and row.delivered_note == "放在团区委前台了"
    assert "没有待送达" in wechat.text("已送达", openid=openid).text


def test_claim_on_behalf_of_an_organisation_by_number(
    db_session: Session, wechat: WeChatPusher, openid: str
) -> None:
    wish = a_wish(db_session)
    wechat.text("微心愿", openid=openid)
    assert "认领成功" in wechat.text("认领 1 金融街青年志愿者协会", openid=openid).text
    assert fresh(db_session, wish.id).donor_org == "金融街青年志愿者协会"
    second = a_wish(db_session, alias="阿杰", item="一双运动鞋")
    wechat.text("心愿", openid=openid)
    wechat.text("1", openid=openid)
    assert "认领成功" in wechat.text("我要认领这个心愿", openid=openid).text
    row = fresh(db_session, second.id)
    assert row.claimed_by is not None and row.donor_org is None


def test_submit_form_asks_the_guardian_first_and_stores_the_wish(
    db_session: Session, wechat: WeChatPusher, openid: str
) -> None:
    intro = wechat.text("我想许愿", openid=openid).text
    assert "不会公开姓名" in intro and "为谁提交" in intro
    assert "年龄段" in wechat.text("2", openid=openid).text
    assert "监护人" in wechat.text("1", openid=openid).text  # under 14: consent before anything else
    assert "需要监护人回复“同意”" in wechat.text("好的", openid=openid).text
    assert "怎么称呼" in wechat.text("同意", openid=openid).text
    assert "1–8 个字" in wechat.text("李小雨同学的妈妈替她提交", openid=openid).text
    assert "哪个区" in wechat.text("小雨", openid=openid).text
    assert "心愿是什么" in wechat.text("西城", openid=openid).text
    assert "故事" in wechat.text("一个新书包", openid=openid).text
    assert "10–500" in wechat.text("太短", openid=openid).text
    assert "多少钱" in wechat.text("书包背了三年已经破了，希望新学期有一个结实的书包。", openid=openid).text
    assert "手机号" in wechat.text("2", openid=openid).text
    done = wechat.text("138 1234 5678", openid=openid).text
    assert "心愿已提交（编号 #" in done
    wish = db_session.scalars(select(Wish).order_by(Wish.id.desc())).first()
    assert wish is not None
    assert (wish.on_behalf_of, wish.age_band, wish.district, wish.price_band) == (
        "guardian",
        "under14",
        "西城区",
        "100to300",
    )
    assert wish.guardian_consent_at is not None and wish.contact_phone == "13812345678"
    # Chat users have no miniprogram openid WeChat could check: the reviewer is told it was not checked.
    assert (wish.safety_suggest, wish.safety_source) == ("review", "fallback")


def test_without_consent_nothing_is_stored_and_cancel_works(
    db_session: Session, wechat: WeChatPusher, openid: str
) -> None:
    wechat.text("许愿", openid=openid)
    wechat.text("1", openid=openid)
    wechat.text("1", openid=openid)
    wechat.text("不要", openid=openid)
    wechat.text("不同意", openid=openid)
    assert "这次先帮你退出了" in wechat.text("再说一次", openid=openid).text
    assert db_session.scalar(select(Wish.id)) is None
    wechat.text("许愿", openid=openid)
    assert "已经取消" in wechat.text("取消", openid=openid).text
    assert db_session.scalar(select(Wish.id)) is None


def test_mine_answer_more_and_confirm_received_with_thanks(
    db_session: Session, wechat: WeChatPusher, openid: str
) -> None:
    submitter = users.get_or_create_oa_user(db_session, openid)
    data = {
        "on_behalf_of": "self",
        "age_band": "18to24",
        "alias": "小林",
        "district": "朝阳区",
        "item": "二手电脑",
        "story": "自学编程需要一台能用的电脑，二手的就很好。",
        "price_band": "300to1000",
    }
    wish = wishes.submit_wish(db_session, submitter, data)
    wishes.request_info(db_session, wish.id, STAFF, "请说明学习计划。")
    mine = wechat.text("我的心愿", openid=openid).text
    assert "二手电脑｜待补充信息" in mine and "请说明学习计划" in mine
    assert "重新进入审核" in wechat.text("补充 我在学Python，准备考证书", openid=openid).text
    assert fresh(db_session, wish.id).status == "submitted"
    wishes.approve_wish(db_session, wish.id, STAFF)
    donor = users.get_or_create_oa_user(db_session, openid + "_donor")
    wishes.claim_wish(db_session, donor, wish.id)
    wishes.mark_delivered(db_session, donor, wish.id)
    thanks = wechat.text("心愿已收到，谢谢你，电脑很好用！", openid=openid).text
    assert "已确认收到「二手电脑」" in thanks and "转达" in thanks
    row = fresh(db_session, wish.id)
    assert row.status == "received" and row.thank_you == "谢谢你，电脑很好用！"
    # Unchecked by WeChat (a chat user), the thank-you waits for staff; then the donor gets it.
    assert not row.thank_you_sent
    wishes.release_thank_you(db_session, wish.id, STAFF)
    bodies = list(db_session.scalars(select(UserNotice.body).where(UserNotice.user_id == donor.id)))
    assert any("电脑很好用" in body for body in bodies)
