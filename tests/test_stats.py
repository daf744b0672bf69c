"""`GET /v1/stats` on both databases: counts, filters, trend, overdue, misroute and duplicate rates."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from conftest import running_service

from petition_triage.config import REPO_ROOT, Settings
from petition_triage.service.storage.tables import Case, utcnow

CHANNELS = REPO_ROOT / "data_samples" / "channels"


@pytest.fixture
def service(tmp_path, hand_scored_model, database_url):
    with running_service(Settings(home=tmp_path / "home", model_dir=hand_scored_model, database_url=database_url,
                                  notify_interval_s=0)) as client:
        yield client


def test_statistics_count_filter_and_rate(service):
    intake, reviewer = service.keys["intake"], service.keys["reviewer"]
    for channel, name in (("hotline", "hotline_work_order.json"), ("web", "web_form.json"), ("letters", "letters.csv")):
        assert service.post(f"/v1/intake/{channel}", content=(CHANNELS / name).read_bytes(), headers=intake).status_code == 201
    again = service.post("/v1/intake/hotline", content=(CHANNELS / "hotline_work_order.json").read_bytes(),
                         headers=intake).json()["cases"][0]
    assert again["duplicate_group"] is not None
    corrected = again["id"]
    predicted = again["classification"]["department"]["label"]
    service.post(f"/v1/cases/{corrected}/corrections", json={"department": "housing" if predicted != "housing" else "hrss"},
                 headers=reviewer)
    with service.app_state.database.sessions() as session:
        session.get(Case, corrected).due_at = utcnow() - timedelta(days=1)
        session.commit()

    stats = service.get("/v1/stats", headers=reviewer).json()
    assert stats["total"] == 6
    assert stats["by_channel"] == {"hotline": 2, "web": 1, "letter": 3}
    assert stats["by_state"] == {"registered": 6} and stats["overdue"] == 1
    assert stats["duplicate_rate"] == pytest.approx(2 / 6, abs=1e-3)
    today = datetime.now(timezone(timedelta(hours=8))).strftime("%Y-%m-%d")
    assert stats["trend"] == [{"period": today, "cases": 6}]
    assert stats["misroute_rate_by_department"][predicted] == pytest.approx(
        1 / stats["by_department"][predicted], abs=1e-3)
    assert sum(stats["by_department"].values()) == 6

    xining = service.get("/v1/stats", params={"region": "青海省西宁市"}, headers=reviewer).json()
    assert xining["total"] == 5  # the two hotline orders, the web form and two of the letters
    assert stats["by_region_code"]["630105"] == 2, "the hotline orders name 城北区"
    assert service.get("/v1/stats", params={"region_code": "6301"}, headers=reviewer).json()["total"] == 5
    assert service.get("/v1/stats", params={"region_code": "63x"}, headers=reviewer).status_code == 422
    assert sum(stats["by_office"].values()) == 6
    hotline = service.get("/v1/stats", params={"channel": "hotline", "bucket": "week"}, headers=reviewer).json()
    assert hotline["total"] == 2 and len(hotline["trend"]) == 1 and "-W" in hotline["trend"][0]["period"]
    future = service.get("/v1/stats", params={"since": (utcnow() + timedelta(days=1)).isoformat()}, headers=reviewer)
    assert future.json()["total"] == 0 and future.json()["duplicate_rate"] == 0
    assert service.get("/v1/stats", params={"bucket": "month"}, headers=reviewer).status_code == 422
    assert service.get("/v1/stats", headers=intake).status_code == 403
