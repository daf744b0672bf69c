"""The holes found by attacking the running service (issue 24), each closed and kept closed: bodies
limited as they stream and keys checked before them, wrong keys rate-limited, no phone-number oracle,
one writer per case, NULs refused, metadata bounded and hashed, no webhooks into the local network,
sessions that end at sign-out, security headers, and the window in which a revoked key still works."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import free_port, running_service, start_server
from sqlalchemy import select

from petition_triage.config import Settings
from petition_triage.service.api.keys import KeyCache, create_key, revoke_key
from petition_triage.service.api.rate_limits import AUTH_FAILURES_PER_CLIENT
from petition_triage.service.casework import lifecycle
from petition_triage.service.casework.notifications import Dispatcher
from petition_triage.service.casework.time_limits import TimeLimitPolicy
from petition_triage.service.storage import case_store
from petition_triage.service.storage.database import Database, migrate
from petition_triage.service.storage.tables import Case, CaseEvent, Delivery, utcnow

TEXT = "我们小区的电梯上个月坏了三次，有一次把一位老人困在里面快一个小时，物业只派人简单看了看就走了。"


@pytest.fixture
def service(tmp_path, hand_scored_model, database_url):
    settings = Settings(home=tmp_path / "home", model_dir=hand_scored_model, database_url=database_url,
                        notify_interval_s=0, max_body_bytes=200_000)
    with running_service(settings) as client:
        yield client


def _register(service, text: str = TEXT, **metadata) -> str:
    created = service.post("/v1/cases", json={"text": text, "channel": "web", "metadata": metadata},
                           headers=service.keys["intake"])
    assert created.status_code == 201, created.text
    return created.json()["id"]


# 1. Bodies: limited while they stream, and not read at all without a key.

def _raw_chunked_post(port: int, path: str, headers: dict[str, str], chunks: int, chunk_bytes: int = 65_536) -> str:
    """Sends a chunked POST a chunk at a time, never ending it, and returns the status line the server
    answers with while the body is still arriving ('' if it waits for the rest)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": "127.0.0.1", "Content-Type": "application/json",
                                                    "Transfer-Encoding": "chunked", **headers}.items())
        conn.sendall(f"POST {path} HTTP/1.1\r\n{head}\r\n".encode())
        chunk = f"{chunk_bytes:x}\r\n".encode() + b"[" * chunk_bytes + b"\r\n"
        conn.settimeout(0.2)
        for _ in range(chunks):
            try:
                conn.sendall(chunk)
            except OSError:  # the server answered and closed: the rest is never read
                break
            try:
                answer = conn.recv(4096)
            except socket.timeout:
                continue
            return answer.decode("latin-1").split("\r\n", 1)[0]
        conn.settimeout(5)
        try:
            return conn.recv(4096).decode("latin-1").split("\r\n", 1)[0]
        except socket.timeout:
            return ""


def test_a_chunked_body_is_refused_as_it_streams_and_never_read_without_a_key(tmp_path, hand_scored_model):
    database_url = f"sqlite:///{tmp_path / 'cases.db'}"
    database = Database(database_url)
    migrate(database.engine)
    with database.sessions() as session:
        key = create_key(session, "intake", "intake")
    env = {**os.environ, "DATABASE_URL": database_url, "PETITION_TRIAGE_MODEL_DIR": str(hand_scored_model),
           "PETITION_TRIAGE_HOME": str(tmp_path / "home"), "PETITION_TRIAGE_NOTIFY_INTERVAL_S": "0",
           "PETITION_TRIAGE_MAX_BODY_BYTES": "200000"}
    port = free_port()
    process = start_server(env, port)
    try:
        # Without a key: 401 after the first chunk of a body that would be 200 MB (nothing is buffered).
        assert _raw_chunked_post(port, "/v1/cases", {}, chunks=3200).endswith("401 Unauthorized")
        # With a key: 413 as soon as the streamed bytes pass the limit (4 chunks of 64 KB > 200 KB).
        assert _raw_chunked_post(port, "/v1/cases", {"X-API-Key": key}, chunks=50).endswith("413 Request Entity Too Large")
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_key_is_checked_before_the_body_is_read(service):
    # Not even JSON, far from a valid submission: the missing key is what the caller hears about.
    refused = service.post("/v1/cases", content=b"{" * 150_000, headers={"Content-Type": "application/json"})
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    big = service.post("/v1/cases", content=b"x" * 300_000, headers=service.keys["intake"])
    assert big.status_code == 413 and "exceeds the limit of 200000 bytes" in big.json()["detail"]
    assert "xxxx" not in big.text
    # The petitioners' own routes and the health checks need no key.
    assert service.get("/healthz").status_code == 200


def test_wrong_keys_from_one_address_are_rate_limited(service):
    for _ in range(AUTH_FAILURES_PER_CLIENT):
        assert service.get("/v1/cases", headers={"X-API-Key": "pt_guess"}).status_code == 401
    blocked = service.get("/v1/cases", headers={"X-API-Key": "pt_guess"})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert service.post("/ui/login", data={"key": "pt_guess"}, follow_redirects=False).status_code == 429


# 4. No phone-number oracle for intake keys.

def test_duplicate_search_tells_intake_keys_nothing_about_contacts(service):
    _register(service, phone="13912345678")
    query = {"text": TEXT, "channel": "hotline"}
    answers = {}
    for phone in ("13912345678", "13700000000"):
        found = service.post("/v1/duplicates:search", json={**query, "metadata": {"phone": phone}},
                             headers=service.keys["intake"])
        assert found.status_code == 200, found.text
        answers[phone] = [(m["case_id"], m["kind"], m["score"], m["evidence"]["same_contact"])
                          for m in found.json()["matches"]]
    assert answers["13912345678"] == answers["13700000000"], "the typed number changed the intake answer"
    assert answers["13912345678"] and all(same is None for *_, same in answers["13912345678"])
    reviewer = service.post("/v1/duplicates:search", json={**query, "metadata": {"phone": "13912345678"}},
                            headers=service.keys["reviewer"]).json()["matches"]
    assert reviewer[0]["evidence"]["same_contact"] is True and reviewer[0]["kind"] == "duplicate"


# 5. One writer per case.

def test_concurrent_transitions_of_one_case_let_exactly_one_through(service):
    case_id = _register(service)
    assert service.post(f"/v1/cases/{case_id}/transitions", json={"to": "accepted"},
                        headers=service.keys["reviewer"]).status_code == 200
    with ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda _: service.post(f"/v1/cases/{case_id}/transitions", json={"to": "returned"},
                                                     headers=service.keys["reviewer"]).status_code, range(10)))
    assert sorted(codes) == [200] + [409] * 9
    history = service.get(f"/v1/cases/{case_id}", headers=service.keys["reviewer"]).json()["events"]
    assert [(e["from_state"], e["to_state"]) for e in history] == [("registered", "accepted"), ("accepted", "returned")]


def test_concurrent_corrections_chain_each_from_value_to_the_previous_one(service):
    case_id = _register(service)
    departments = ["housing", "market_regulation", "hrss", "transport", "education", "health"] * 5
    with ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda d: service.post(f"/v1/cases/{case_id}/corrections", json={"department": d},
                                                     headers=service.keys["reviewer"]).status_code, departments))
    assert codes.count(200) >= 25 and set(codes) <= {200, 409}
    history = service.get(f"/v1/cases/{case_id}", headers=service.keys["reviewer"]).json()["history"]
    assert len(history) == codes.count(200)
    for before, after in zip(history, history[1:]):
        assert after["from_value"] == before["to_value"]


def test_a_write_decided_on_a_stale_copy_is_decided_again(tmp_path, database_url):
    database = Database(database_url)
    migrate(database.engine)
    policy = TimeLimitPolicy.load(None)
    with database.sessions() as session:
        case = Case(id="c1", channel="web", text="t", model_version="m", classification={}, created_at=utcnow())
        session.add(case)
        lifecycle.start(case, policy)
        session.commit()
    seen = []
    with database.sessions() as mine, database.sessions() as other:
        def accept(case):
            seen.append(case.state)
            if len(seen) == 1:  # another process returns the case between this writer's read and its commit
                lifecycle.transition(other, case_store.get_case(other, "c1"), "returned", "b", None, policy)
            return lifecycle.transition(mine, case, "accepted", "a", None, policy)

        with pytest.raises(lifecycle.TransitionRefused, match="a returned"):
            case_store.write_case(mine, "c1", accept)
    assert seen == ["registered", "returned"], "the stale commit failed and the change was decided again"
    with database.sessions() as session:
        events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == "c1")).all()
        assert [(e.from_state, e.to_state) for e in events] == [("registered", "returned")]
        assert session.get(Case, "c1").state == "returned"


# 9, 10. NULs, metadata bounds, contacts under any key.

def test_nul_characters_anywhere_are_a_422_naming_the_field(service):
    intake, reviewer = service.keys["intake"], service.keys["reviewer"]
    title = service.post("/v1/cases", json={"text": TEXT, "title": "电梯\x00"}, headers=intake)
    assert title.status_code == 422 and "title contains a NUL" in json.dumps(title.json())
    region = service.post("/v1/cases", json={"text": TEXT, "metadata": {"region": "西宁\x00"}}, headers=intake)
    assert region.status_code == 422 and "metadata.region" in json.dumps(region.json())
    hotline = service.post("/v1/intake/hotline", json={"gdnr": TEXT, "ldrxm": "王\x00"}, headers=intake)
    assert hotline.status_code == 422, hotline.text
    case_id = _register(service)
    reason = service.post(f"/v1/cases/{case_id}/corrections", json={"department": "housing", "reason": "x\x00"},
                          headers=reviewer)
    assert reason.status_code == 422 and "reason" in json.dumps(reason.json())
    assert service.get("/v1/cases?department=%00", headers=reviewer).status_code == 422
    table = service.put("/v1/routing-table", json={"version": "v\x00", "rules": []}, headers=service.keys["admin"])
    assert table.status_code == 422 and "NUL" in table.text
    assert service.get(f"/v1/cases/{case_id}", headers=reviewer).status_code == 200


def test_metadata_values_are_bounded_and_contacts_under_any_key_are_stored_hashed(service):
    long = service.post("/v1/cases", json={"text": TEXT, "metadata": {"note": "长" * 1001}}, headers=service.keys["intake"])
    assert long.status_code == 422 and "1000" in long.text
    case_id = _register(service, backup_phone="13812345678", mail="wang.li@example.com", work_order="12345-2026-000123")
    stored = service.get(f"/v1/cases/{case_id}", headers=service.keys["reviewer"]).json()["metadata"]
    assert "13812345678" not in json.dumps(stored) and "wang.li@example.com" not in json.dumps(stored)
    assert re.fullmatch(r"#[0-9a-f]{16}", stored["backup_phone"]) and stored["work_order"] == "12345-2026-000123"


# 11. Webhooks.

@pytest.mark.parametrize("url", ["http://127.0.0.1:5432/", "http://localhost/hook", "http://169.254.169.254/latest",
                                 "http://10.1.2.3/hook", "http://[::1]/hook", "http://192.168.0.7/"])
def test_webhooks_into_the_local_network_are_refused(service, url):
    refused = service.post("/v1/webhooks", json={"url": url}, headers=service.keys["admin"])
    assert refused.status_code == 422 and "not a public address" in refused.json()["detail"]


def test_local_webhooks_need_the_admin_setting_and_are_checked_again_at_delivery(tmp_path, hand_scored_model):
    settings = Settings(home=tmp_path / "home", model_dir=hand_scored_model, notify_interval_s=0,
                        database_url=f"sqlite:///{tmp_path / 'cases.db'}", webhook_private_targets=True)
    with running_service(settings) as service:
        allowed = service.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=service.keys["admin"])
        assert allowed.status_code == 201
        _register(service)
        strict = Dispatcher(service.app_state.database)  # a process without the setting delivers nothing there
        assert asyncio.run(strict.run_once())["retry"] == 1
        service.app_state.database.engine.dispose()
        with service.app_state.database.sessions() as session:
            assert "not a public address" in session.scalars(select(Delivery)).one().last_error


# 8. Sessions end at sign-out; 12. headers.

def test_signing_out_ends_the_session_on_the_server(service):
    key = service.keys["reviewer"]["Authorization"].removeprefix("Bearer ")
    service.post("/ui/login", data={"key": key}, follow_redirects=False)
    cookie = service.cookies.get("pt_session")
    page = service.get("/ui/queue")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
    assert service.post("/ui/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    service.cookies.set("pt_session", cookie)  # the old cookie, kept by whoever copied it
    assert service.get("/ui/queue", follow_redirects=False).status_code == 303
    assert service.get("/v1/cases", follow_redirects=False).status_code == 401


def test_pages_and_the_api_send_security_headers(service):
    for response in (service.get("/ui/login"), service.get("/healthz")):
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


# The documented window in which a revoked key still works.

def test_a_revoked_key_stops_working_within_the_cache_window(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'keys.db'}")
    migrate(database.engine)
    now = [1000.0]
    cache = KeyCache(clock=lambda: now[0])
    with database.sessions() as session:
        key = create_key(session, "k", "intake")
    assert cache.lookup(database, key) is not None
    with database.sessions() as session:
        revoke_key(session, "k")
    now[0] += cache.fresh_s - 1
    assert cache.lookup(database, key) is not None, "inside the window the cached verification still holds"
    now[0] += 2
    assert cache.lookup(database, key) is None
    assert cache.fresh_s == 30.0, "README's Security section documents a 30 s window"


# 3. A table that cannot route makes the service not ready.

def test_readiness_fails_while_the_routing_table_in_force_cannot_route(service):
    import dataclasses

    ready = service.get("/readyz")
    assert ready.status_code == 200 and ready.json()["routing"] == "ok"
    table = service.app_state.routing.current()
    broken = dataclasses.replace(table, rules=[dataclasses.replace(table.rules[0], office=123)])  # past validation
    service.app_state.routing.replace(broken, None)
    not_ready = service.get("/readyz")
    assert not_ready.status_code == 503 and not_ready.json()["routing"].startswith("cannot route")
