"""Channel adapters on the committed sample payloads, and `POST /v1/intake/{channel}` on both databases."""

from __future__ import annotations

import json

import pytest
from conftest import running_service
from sqlalchemy import func, select

from petition_triage.config import REPO_ROOT, Settings
from petition_triage.service.api.channel_adapters import ADAPTERS, PayloadError
from petition_triage.service.storage.tables import Case

SAMPLES = REPO_ROOT / "data_samples" / "channels"
FILES = {"hotline": "hotline_work_order.json", "mailbox": "mailbox_letter.eml", "web": "web_form.json",
         "wechat": "wechat_message.xml", "letters": "letters.csv"}


def sample(channel: str) -> bytes:
    return (SAMPLES / FILES[channel]).read_bytes()


def test_hotline_work_order_maps_its_own_field_names():
    (s,) = ADAPTERS["hotline"](sample("hotline"))
    assert s.channel == "hotline" and s.title == "小区供暖温度不达标" and s.text.startswith("来电人反映")
    assert s.metadata["source_id"] == "QH12345-2026-1108-00417" and s.metadata["phone"] == "13800001562"
    assert s.metadata["region"] == "青海省西宁市城北区朝阳街道"


def test_mailbox_eml_gives_body_sender_and_attachment_names():
    (s,) = ADAPTERS["mailbox"](sample("mailbox"))
    assert s.channel == "mailbox" and s.title == "反映某建筑工地拖欠农民工工资"
    assert "二十三万多元" in s.text and s.metadata["name"] == "王建国"
    assert s.metadata["email"] == "wangjg1971@example.com" and s.metadata["phone"] == "15200005517"
    assert s.metadata["attachments"] == "欠条照片.png、考勤记录.csv"
    assert s.metadata["received_at"].startswith("2026-11-06T21:08:44")


def test_web_wechat_and_letters():
    (web,) = ADAPTERS["web"](sample("web"))
    assert web.metadata["mobile"] == "18600000385" and "email" not in web.metadata
    (wechat,) = ADAPTERS["wechat"](sample("wechat"))
    assert wechat.channel == "wechat" and "栏杆断了" in wechat.text
    assert wechat.metadata["wechat_openid"].startswith("oQ8x") and wechat.metadata["received_at"].startswith("2026-11-09")
    letters = ADAPTERS["letters"](sample("letters"))
    assert [l.metadata["source_id"] for l in letters] == ["XF-2026-11-0031", "XF-2026-11-0032", "XF-2026-11-0033"]
    assert "name" not in letters[1].metadata, "an anonymous letter has no name"
    assert all(l.channel == "letter" for l in letters)


@pytest.mark.parametrize("channel, payload, field", [
    ("hotline", b'{"gdbh": "1"}', "gdnr"),
    ("hotline", b'{"gdnr": "   "}', "gdnr"),
    ("hotline", b"[1, 2]", "body"),
    ("web", b'{"content": "\xe4\xbd\xa0\xe5\xa5\xbd", "contact": "x"}', "contact"),
    ("web", b"\xff\xfe not utf-8", "body"),
    ("wechat", b"<xml><MsgType>image</MsgType></xml>", "MsgType"),
    ("wechat", b"<xml><MsgType>text</MsgType><Content>x</Content>", "body"),
    ("wechat", b"<xml><MsgType>text</MsgType><Content>ok</Content><CreateTime>soon</CreateTime></xml>", "CreateTime"),
    ("letters", "来信编号,正文\n1,内容".encode(), "header"),
    ("letters", "来信编号,收信日期,来信人,联系电话,地址,标题,正文\n".encode(), "body"),
    ("letters", "来信编号,收信日期,来信人,联系电话,地址,标题,正文\n1,,,,,,  \n".encode(), "row 1 正文"),
    ("mailbox", b"just some words", "From"),
])
def test_bad_payloads_name_the_field(channel, payload, field):
    with pytest.raises(PayloadError) as caught:
        ADAPTERS[channel](payload)
    assert caught.value.field == field


@pytest.fixture
def service(tmp_path, hand_scored_model, database_url):
    with running_service(Settings(home=tmp_path / "home", model_dir=hand_scored_model, database_url=database_url,
                                  contact_salt="salt")) as client:
        yield client


def _count(service) -> int:
    with service.app_state.database.sessions() as session:
        return session.scalar(select(func.count()).select_from(Case))


def test_intake_registers_every_channel_without_contacts_in_clear(service):
    for channel in FILES:
        response = service.post(f"/v1/intake/{channel}", content=sample(channel), headers=service.keys["intake"])
        assert response.status_code == 201, (channel, response.text)
        assert response.json()["channel"] == channel
    assert _count(service) == 7  # the CSV holds three letters
    with service.app_state.database.sessions() as session:
        stored = json.dumps([c.meta for c in session.scalars(select(Case))], ensure_ascii=False)
    for secret in ("13800001562", "wangjg1971@example.com", "oQ8xT5nP2kLm7Yw4Rv1Zc9Jd6Ha0", "王建国", "韩女士"):
        assert secret not in stored
    assert "QH12345-2026-1108-00417" in stored and "欠条照片.png" in stored


def test_the_same_letter_again_by_e_mail_is_a_registered_duplicate_candidate(service):
    first = service.post("/v1/intake/mailbox", content=sample("mailbox"), headers=service.keys["intake"]).json()
    again = service.post("/v1/intake/mailbox", content=sample("mailbox"), headers=service.keys["intake"]).json()
    (match, *_) = again["cases"][0]["duplicates"] or [None]
    assert match is not None and match["case_id"] == first["cases"][0]["id"]
    assert "exact" in match["evidence"]["stages"]
    assert match["evidence"]["same_contact"] is None, "intake keys learn nothing of contacts"
    stored = service.get(f"/v1/cases/{again['cases'][0]['id']}", headers=service.keys["reviewer"]).json()
    assert stored["links"][0]["evidence"]["same_contact"] is True, "reviewers see the contact evidence"


def test_bad_payload_is_a_422_naming_the_field_and_stores_nothing(service):
    bad_csv = sample("letters").decode() + "XF-9,2026-11-06,,,,无正文,\n"
    response = service.post("/v1/intake/letters", content=bad_csv.encode(), headers=service.keys["intake"])
    assert response.status_code == 422 and "row 4 正文" in response.json()["detail"]
    assert _count(service) == 0, "no letter of a failed batch is stored"
    unknown = service.post("/v1/intake/fax", content=b"x", headers=service.keys["intake"])
    assert unknown.status_code == 404 and "hotline" in unknown.json()["detail"]
    assert service.post("/v1/intake/hotline", content=sample("hotline")).status_code == 401
