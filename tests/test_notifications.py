"""Reminders: the outbox, signed webhooks with retry, a receiver that is down, a dispatcher that dies
mid-delivery, the deadline scan with SMS, and the petitioner's status check."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
from conftest import running_service
from sqlalchemy import select

from petition_triage.config import Settings
from petition_triage.service.casework.notifications import SIGNATURE_HEADER, Dispatcher, scan_deadlines, sign
from petition_triage.service.storage.tables import Case, Delivery, utcnow

TEXT = "小区门口的垃圾站一个星期没人清运了，味道很大，夏天蚊蝇成群，请环卫部门尽快处理。"


class Receiver:
    """A webhook receiver that records what it gets and can be switched off."""

    def __init__(self) -> None:
        self.up = True
        self.received: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        self.received.append(request)
        return httpx.Response(204)


class RecordingSms:
    sent: list[tuple[str, str]] = []

    def send(self, number: str, text: str) -> None:
        RecordingSms.sent.append((number, text))


@pytest.fixture
def service(tmp_path, tiny_model_dir, database_url):
    settings = Settings(home=tmp_path / "home", model_dir=tiny_model_dir, database_url=database_url,
                        notify_interval_s=0)
    with running_service(settings) as client:
        yield client


def _subscribe(service, **body) -> dict:
    response = service.post("/v1/webhooks", json={"url": "http://receiver.test/hook", **body},
                            headers=service.keys["admin"])
    assert response.status_code == 201, response.text
    return response.json()


def _register(service) -> dict:
    response = service.post("/v1/cases", json={"text": TEXT, "channel": "web"}, headers=service.keys["intake"])
    assert response.status_code == 201, response.text
    return response.json()


def _dispatch(service, receiver: Receiver, sms=None) -> dict:
    dispatcher = Dispatcher(service.app_state.database, sms, transport=httpx.MockTransport(receiver.handle))
    return asyncio.run(dispatcher.run_once())


def _make_due_now(service) -> None:
    with service.app_state.database.sessions() as session:
        for delivery in session.scalars(select(Delivery).where(Delivery.status == "pending")):
            delivery.next_attempt_at = utcnow() - timedelta(seconds=1)
        session.commit()


def test_webhooks_are_signed_and_only_admins_manage_them(service):
    hook = _subscribe(service, event_types=["case.registered", "case.state_changed"])
    assert len(hook["secret"]) >= 16
    assert service.post("/v1/webhooks", json={"url": "http://x.test"}, headers=service.keys["reviewer"]).status_code == 403
    bad = service.post("/v1/webhooks", json={"url": "http://x.test", "event_types": ["case.exploded"]},
                       headers=service.keys["admin"])
    assert bad.status_code == 422 and "case.overdue" in bad.json()["detail"]
    assert service.get("/v1/webhooks", headers=service.keys["admin"]).json()["items"][0]["secret"] is None

    case = _register(service)
    service.post(f"/v1/cases/{case['id']}/transitions", json={"to": "accepted"}, headers=service.keys["reviewer"])
    receiver = Receiver()
    assert _dispatch(service, receiver)["delivered"] == 2
    events = [json.loads(r.content) for r in receiver.received]
    assert [e["event"] for e in events] == ["case.registered", "case.state_changed"]
    assert events[1]["from_state"] == "registered" and events[1]["to_state"] == "accepted"
    assert TEXT not in receiver.received[0].content.decode(), "notifications never carry the petition's text"
    for request in receiver.received:
        assert request.headers[SIGNATURE_HEADER] == sign(hook["secret"], request.content)
    assert _dispatch(service, receiver)["delivered"] == 0, "nothing is sent twice"


def test_a_receiver_that_is_down_loses_nothing(service):
    _subscribe(service)
    case = _register(service)
    receiver = Receiver()
    receiver.up = False
    assert _dispatch(service, receiver) == {"delivered": 0, "retry": 1, "failed": 0}
    assert _dispatch(service, receiver)["retry"] == 0, "the next attempt waits for its back-off"
    listed = service.get("/v1/notifications", params={"case_id": case["id"]}, headers=service.keys["reviewer"]).json()
    (delivery,) = listed["items"][0]["deliveries"]
    assert delivery["status"] == "pending" and delivery["attempts"] == 1 and "ConnectError" in delivery["last_error"]

    receiver.up = True
    _make_due_now(service)
    assert _dispatch(service, receiver)["delivered"] == 1
    assert json.loads(receiver.received[0].content)["case_id"] == case["id"]


def test_a_dispatcher_dying_after_claiming_leaves_the_delivery_to_another(service):
    _subscribe(service)
    _register(service)
    crashed = Dispatcher(service.app_state.database)
    assert len(crashed._claim(10)) == 1  # claimed, then the process is killed before sending
    receiver = Receiver()
    assert _dispatch(service, receiver)["delivered"] == 0, "the claim's lease holds it"
    _make_due_now(service)  # the lease runs out
    assert _dispatch(service, receiver)["delivered"] == 1


def test_deadline_scan_raises_each_deadline_once_and_texts_the_duty_number(service):
    _subscribe(service, event_types=["case.overdue"])
    case = _register(service)
    with service.app_state.database.sessions() as session:
        row = session.get(Case, case["id"])
        row.due_at = utcnow() - timedelta(minutes=5)
        department = row.predicted_department
        session.commit()
        recipients = {department: ["13900005678"]}
        assert scan_deadlines(session, timedelta(days=3), recipients) == 1
        assert scan_deadlines(session, timedelta(days=3), recipients) == 0
    RecordingSms.sent.clear()
    receiver = Receiver()
    assert _dispatch(service, receiver, RecordingSms())["delivered"] == 2  # the webhook and the SMS
    assert [json.loads(r.content)["event"] for r in receiver.received] == ["case.overdue"]
    ((number, text),) = RecordingSms.sent
    assert number == "13900005678" and "case.overdue" in text


def test_reassignment_is_an_event(service):
    case = _register(service)
    predicted = case["classification"]["department"]["label"]
    target = "housing" if predicted != "housing" else "education"
    service.post(f"/v1/cases/{case['id']}/corrections", json={"department": target}, headers=service.keys["reviewer"])
    events = service.get("/v1/notifications", params={"case_id": case["id"]}, headers=service.keys["reviewer"]).json()
    reassigned = [e for e in events["items"] if e["event_type"] == "case.reassigned"]
    assert reassigned and reassigned[0]["payload"]["to_department"] == target


def test_petitioner_checks_status_with_the_code(service):
    case = _register(service)
    code = case["verification_code"]
    assert len(code) == 6 and code.isdigit()
    seen = service.get(f"/v1/public/cases/{case['id']}/status", params={"code": code})
    assert seen.status_code == 200 and seen.json()["state_zh"] == "登记"
    service.post(f"/v1/cases/{case['id']}/transitions", json={"to": "accepted"}, headers=service.keys["reviewer"])
    assert service.get(f"/v1/public/cases/{case['id']}/status", params={"code": code}).json()["state"] == "accepted"
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    refused = service.get(f"/v1/public/cases/{case['id']}/status", params={"code": wrong})
    unknown = service.get("/v1/public/cases/no-such-case/status", params={"code": code})
    assert refused.status_code == unknown.status_code == 404 and refused.json() == unknown.json()
    # Guessing a case's code: after ten wrong codes the next tries wait, the right code included.
    for guess in range(9):
        assert service.get(f"/v1/public/cases/{case['id']}/status", params={"code": f"{guess:06d}" if
                           f"{guess:06d}" != code else "999999"}).status_code == 404
    blocked = service.get(f"/v1/public/cases/{case['id']}/status", params={"code": code})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "verification" not in json.dumps(service.get(f"/v1/cases/{case['id']}", headers=service.keys["reviewer"]).json())
