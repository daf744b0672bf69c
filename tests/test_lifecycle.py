"""Case lifecycle and time limits: working days over Chinese holidays, transitions, extensions, deadlines."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from conftest import running_service

from petition_triage.config import Settings
from petition_triage.service.casework.time_limits import TimeLimitPolicy, add_days
from petition_triage.service.storage.tables import Case

BEIJING = ZoneInfo("Asia/Shanghai")
TEXT = "我家楼下的路灯坏了一个多月了，晚上出门黑乎乎的，老人孩子走路不安全，希望尽快修好。"


def _on(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BEIJING)


@pytest.mark.parametrize("filed, days, unit, due", [
    # National Day 2026: 1-7 October off, Saturday 10 October a working day (调休).
    (date(2026, 9, 30), 3, "working", date(2026, 10, 10)),
    # Spring Festival 2026: Saturday 14 February worked, 15-23 February off.
    (date(2026, 2, 13), 3, "working", date(2026, 2, 25)),
    # No holiday data yet for 2027: Monday to Friday.
    (date(2027, 1, 8), 3, "working", date(2027, 1, 13)),
    (date(2026, 9, 30), 15, "calendar", date(2026, 10, 15)),
])
def test_deadlines_count_working_days_over_holidays(filed, days, unit, due):
    deadline = add_days(_on(filed), days, unit)
    assert deadline.astimezone(BEIJING).date() == due
    assert deadline.astimezone(BEIJING).hour == 23


def test_a_late_evening_utc_filing_counts_from_the_beijing_date():
    # 17:00 UTC on 29 September is 01:00 on 30 September in Beijing.
    filed = datetime(2026, 9, 29, 17, tzinfo=timezone.utc)
    assert add_days(filed, 3, "working").astimezone(BEIJING).date() == date(2026, 10, 10)


def test_policy_file_is_validated(tmp_path):
    bad = tmp_path / "limits.json"
    bad.write_text('{"stages": {"registered": {"days": 0, "unit": "calendar"}}}')
    with pytest.raises(ValueError, match="registered"):
        TimeLimitPolicy.load(bad)
    policy = TimeLimitPolicy.load()
    assert policy.stages["registered"].days == 15 and policy.stages["in_progress"].start == "accepted"
    assert policy.extension_max_days == 30 and policy.extension_times == 1


@pytest.fixture
def service(tmp_path, tiny_model_dir, database_url):
    with running_service(Settings(home=tmp_path / "home", model_dir=tiny_model_dir, database_url=database_url)) as client:
        yield client


def _register(service, channel: str) -> dict:
    response = service.post("/v1/cases", json={"text": TEXT, "channel": channel}, headers=service.keys["intake"])
    assert response.status_code == 201, response.text
    return service.get(f"/v1/cases/{response.json()['id']}", headers=service.keys["reviewer"]).json()


def _days_until(moment: str) -> float:
    return (datetime.fromisoformat(moment).astimezone(timezone.utc) - datetime.now(timezone.utc)) / timedelta(days=1)


def test_lifecycle_moves_with_events_and_deadlines(service):
    reviewer = service.keys["reviewer"]
    hotline = _register(service, "hotline")
    assert hotline["state"] == "registered" and hotline["state_zh"] == "登记"
    assert 14 < _days_until(hotline["due_at"]) <= 16, "acceptance decision within 15 days"
    web = _register(service, "web")
    assert _days_until(web["due_at"]) < 12, "online cases get the 3-working-day first response"

    case_id = hotline["id"]
    accepted = service.post(f"/v1/cases/{case_id}/transitions", json={"to": "accepted", "note": "属本单位职责"},
                            headers=reviewer)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted" and 59 < _days_until(accepted.json()["due_at"]) <= 61

    refused = service.post(f"/v1/cases/{case_id}/transitions", json={"to": "closed"}, headers=reviewer)
    assert refused.status_code == 409 and "in_progress" in refused.json()["detail"]
    assert service.post(f"/v1/cases/{case_id}/transitions", json={"to": "done"}, headers=reviewer).status_code == 422

    assert service.post(f"/v1/cases/{case_id}/extension", json={"days": 31, "reason": "太忙"},
                        headers=reviewer).status_code == 422
    extended = service.post(f"/v1/cases/{case_id}/extension", json={"days": 30, "reason": "需现场核查"}, headers=reviewer)
    assert extended.status_code == 200 and 89 < _days_until(extended.json()["due_at"]) <= 91
    again = service.post(f"/v1/cases/{case_id}/extension", json={"days": 5, "reason": "再延"}, headers=reviewer)
    assert again.status_code == 409 and "already extended" in again.json()["detail"]

    for state in ("in_progress", "answered", "closed"):
        moved = service.post(f"/v1/cases/{case_id}/transitions", json={"to": state}, headers=reviewer)
        assert moved.status_code == 200, moved.text
    closed = moved.json()
    assert closed["due_at"] is None and not closed["overdue"]
    assert [(e["kind"], e["from_state"], e["to_state"]) for e in closed["events"]] == [
        ("transition", "registered", "accepted"), ("extension", "accepted", "accepted"),
        ("transition", "accepted", "in_progress"), ("transition", "in_progress", "answered"),
        ("transition", "answered", "closed")]
    assert closed["events"][0]["actor"] == "test-reviewer" and closed["events"][1]["days"] == 30
    final = service.post(f"/v1/cases/{case_id}/transitions", json={"to": "in_progress"}, headers=reviewer)
    assert final.status_code == 409 and "final state" in final.json()["detail"]
    assert service.post("/v1/cases/nope/transitions", json={"to": "accepted"}, headers=reviewer).status_code == 404
    assert service.post(f"/v1/cases/{web['id']}/transitions", json={"to": "accepted"},
                        headers=service.keys["intake"]).status_code == 403


def test_overdue_and_due_soon_are_queryable(service):
    late, soon, later = (_register(service, "hotline")["id"] for _ in range(3))
    with service.app_state.database.sessions() as session:
        now = datetime.now(timezone.utc)
        session.get(Case, late).due_at = now - timedelta(hours=1)
        session.get(Case, soon).due_at = now + timedelta(days=1)
        session.commit()
    reviewer = service.keys["reviewer"]
    overdue = service.get("/v1/cases", params={"due": "overdue"}, headers=reviewer).json()
    assert [c["id"] for c in overdue["items"]] == [late] and overdue["items"][0]["overdue"]
    due_soon = service.get("/v1/cases", params={"due": "due_soon"}, headers=reviewer).json()
    assert [c["id"] for c in due_soon["items"]] == [soon]
    everything = service.get("/v1/cases", params={"state": "registered", "limit": 2}, headers=reviewer).json()
    assert everything["total"] == 3 and [c["id"] for c in everything["items"]] == [late, soon]
    assert later not in [c["id"] for c in everything["items"]]
    assert service.get("/v1/cases", params={"due": "yesterday"}, headers=reviewer).status_code == 422


def test_a_web_case_filed_before_national_day_is_due_after_it(service, monkeypatch):
    from petition_triage.service.storage import case_store

    # Filed Wednesday 30 September 2026, 10:00 in Beijing: three working days skip 1-7 October and count
    # Saturday 10 October, an adjusted working day.
    monkeypatch.setattr(case_store, "utcnow", lambda: datetime(2026, 9, 30, 2, tzinfo=timezone.utc))
    created = service.post("/v1/cases", json={"text": TEXT, "channel": "web"}, headers=service.keys["intake"]).json()
    detail = service.get(f"/v1/cases/{created['id']}", headers=service.keys["reviewer"]).json()
    due = datetime.fromisoformat(detail["due_at"]).astimezone(BEIJING)
    assert (due.date(), due.hour) == (date(2026, 10, 10), 23)
    hotline = service.post("/v1/cases", json={"text": TEXT, "channel": "hotline"}, headers=service.keys["intake"]).json()
    due = service.get(f"/v1/cases/{hotline['id']}", headers=service.keys["reviewer"]).json()["due_at"]
    assert datetime.fromisoformat(due).astimezone(BEIJING).date() == date(2026, 10, 15), "15 calendar days"
