"""Faults: the service killed (SIGKILL) while registering cases and writing corrections, and the
database going away under a running service."""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import psycopg
import pytest
from conftest import PG_ADMIN, free_port, running_service, start_server
from sqlalchemy import func, select

from petition_triage.config import Settings
from petition_triage.service.api.keys import create_key
from petition_triage.service.storage.database import Database, migrate
from petition_triage.service.storage.tables import Case, CaseFingerprint, Correction, Notification

TEXTS = ["小区门口的路灯坏了半个月没人修，晚上老人孩子出门不安全，请尽快维修。",
         "请问新生儿医保怎么办理？需要带哪些材料，在哪里办？",
         "建议在公园里多设几处饮水点，夏天锻炼的人多，现在只有一处。",
         "公司拖欠我们八个人三个月工资，老板电话不接，请劳动监察帮忙讨薪。"]


def test_sigkill_while_writing_keeps_every_acknowledged_write(tmp_path, hand_scored_model, database_url,
                                                             record_property):
    database = Database(database_url)
    migrate(database.engine)
    with database.sessions() as session:
        headers = {"X-API-Key": create_key(session, "reviewer", "reviewer")}
    env = {**os.environ, "DATABASE_URL": database_url, "PETITION_TRIAGE_MODEL_DIR": str(hand_scored_model),
           "PETITION_TRIAGE_HOME": str(tmp_path / "home"), "PETITION_TRIAGE_NOTIFY_INTERVAL_S": "0"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_server(env, port)
    acknowledged_cases: list[tuple[str, str]] = []
    acknowledged_corrections: list[tuple[str, str]] = []
    stop = threading.Event()

    def writer(n: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
            i = 0
            while not stop.is_set():
                text = f"{TEXTS[(n + i) % len(TEXTS)]}（第{n}-{i}件）"
                i += 1
                try:
                    created = client.post("/v1/cases", json={"text": text, "channel": "web"})
                    if created.status_code != 201:
                        continue
                    case_id = created.json()["id"]
                    acknowledged_cases.append((case_id, text))
                    fixed = client.post(f"/v1/cases/{case_id}/corrections", json={"department": "housing",
                                                                                   "reason": f"r{n}-{i}"})
                    if fixed.status_code == 200:
                        acknowledged_corrections.append((case_id, f"r{n}-{i}"))
                except httpx.HTTPError:
                    return  # the service died under us: what was not answered was not acknowledged

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(acknowledged_corrections) < 12 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)  # in the middle of the writers' next requests
    process.wait()
    stop.set()
    for thread in threads:
        thread.join()
    assert len(acknowledged_corrections) >= 12

    process = start_server(env, port)
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
            for case_id, text in acknowledged_cases:
                case = client.get(f"/v1/cases/{case_id}")
                assert case.status_code == 200 and case.json()["text"] == text
            for case_id, reason in acknowledged_corrections:
                history = client.get(f"/v1/cases/{case_id}").json()["history"]
                assert any(e["reason"] == reason and e["to_value"] == "housing" for e in history)
    finally:
        process.terminate()
        process.wait(timeout=20)
    with database.sessions() as session:
        cases = session.scalar(select(func.count()).select_from(Case))
        # A case, its fingerprint and its registration notice are one transaction: all or none.
        assert session.scalar(select(func.count()).select_from(CaseFingerprint)) == cases
        assert session.scalar(select(func.count()).select_from(Notification)
                              .where(Notification.event_type == "case.registered")) == cases
        orphans = select(func.count()).select_from(Correction).where(~Correction.case_id.in_(select(Case.id)))
        assert session.scalar(orphans) == 0
    # bench/security_suites.py reports these (acknowledged writes, all found again after the kill).
    record_property("acknowledged_cases", len(acknowledged_cases))
    record_property("acknowledged_corrections", len(acknowledged_corrections))
    database.engine.dispose()


def test_database_outage_gives_503_on_storage_while_classification_answers(tmp_path, tiny_model_dir, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("an outage is simulated by closing a PostgreSQL database to connections")
    name = database_url.rsplit("/", 1)[1]
    settings = Settings(home=tmp_path / "home", model_dir=tiny_model_dir, database_url=database_url,
                        notify_interval_s=0)
    with running_service(settings) as service:
        intake = service.keys["intake"]
        assert service.post("/v1/classify", json={"text": TEXTS[0]}, headers=intake).status_code == 200
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        try:
            stored = service.post("/v1/cases", json={"text": TEXTS[1]}, headers=intake)
            assert stored.status_code == 503 and "nothing was stored" in stored.json()["detail"]
            classified = service.post("/v1/classify", json={"text": TEXTS[1]}, headers=intake)
            assert classified.status_code == 200, classified.text
            assert service.get("/readyz").status_code == 503
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        assert service.post("/v1/cases", json={"text": TEXTS[1]}, headers=intake).status_code == 201
