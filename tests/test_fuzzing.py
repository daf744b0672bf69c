"""Schema-driven fuzzing of the whole HTTP API (schemathesis on the OpenAPI spec) and property tests of
the text pipeline (hypothesis): whatever arrives, no 500 and no crash."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from conftest import running_service
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from petition_triage.config import Settings
from petition_triage.dedup.fingerprints import fingerprint, normalise
from petition_triage.privacy import mask_personal_data

FUZZ = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def test_no_input_to_any_operation_gives_a_server_error(tmp_path, hand_scored_model, record_property):
    with running_service(Settings(home=tmp_path / "home", model_dir=hand_scored_model, notify_interval_s=0,
                                  database_url=f"sqlite:///{tmp_path}/fuzz.db")) as client:
        # The spec comes from the app; requests go through the same test client (and event loop) as the app's
        # micro-batcher, so each generated case is sent with `client.request`.
        schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 24
        failures = []
        statuses = Counter()
        for operation in operations:
            @given(case=operation.as_strategy())
            @FUZZ
            def fuzz(case):
                kwargs = case.as_transport_kwargs(headers=client.keys["admin"])
                kwargs.pop("base_url", None)
                response = client.request(**{k: v for k, v in kwargs.items() if k in (
                    "method", "url", "headers", "params", "json", "content", "data", "files", "cookies")})
                statuses[response.status_code // 100] += 1
                if response.status_code >= 500:
                    failures.append(f"{case.operation.label}: {response.status_code} {response.text[:200]}")

            fuzz()
        assert not failures, failures[:5]
    # bench/security_suites.py reports these.
    record_property("operations", len(operations))
    record_property("requests", sum(statuses.values()))
    record_property("answers_by_class", {f"{k}xx": v for k, v in sorted(statuses.items())})


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_text_pipeline_takes_any_text(text):
    normalise(text)
    masked = mask_personal_data(text)
    assert len(masked) == len(text)
    import numpy as np

    fp = fingerprint(text or "x", None, np.ones(4, dtype=np.float32), {"phone": text[:20] or None}, "salt")
    assert fp.text_hash and len(fp.minhash) == 64


@pytest.fixture
def service(tmp_path, hand_scored_model):
    with running_service(Settings(home=tmp_path / "home", model_dir=hand_scored_model, notify_interval_s=0,
                                  database_url=f"sqlite:///{tmp_path}/bad.db", max_body_bytes=300_000)) as client:
        yield client


@pytest.mark.parametrize("body, content_type", [
    (b'{"text": "\xff\xfe\xfa"}', "application/json"),
    (b"\x00\x01\x02", "application/json"),
    (("{\"text\": \"x\", \"metadata\": " + "{\"a\": " * 2000 + "1" + "}" * 2000 + "}").encode(), "application/json"),
    (b'{"text": "\\u0000 NUL"}', "application/json"),
    (b'{"text": 12345}', "application/json"),
])
def test_malformed_bodies_are_4xx(service, body, content_type):
    response = service.post("/v1/classify", content=body, headers={**service.keys["intake"], "Content-Type": content_type})
    assert 400 <= response.status_code < 500, response.text


def test_huge_batches_and_bodies_are_refused(service):
    batch = service.post("/v1/classify:batch", json={"items": [{"text": "路灯坏了"}] * 65}, headers=service.keys["intake"])
    assert batch.status_code == 422 and "64" in batch.text
    big = service.post("/v1/cases", content=b'{"text": "' + b"a" * 400_000 + b'"}',
                       headers={**service.keys["intake"], "Content-Type": "application/json"})
    assert big.status_code == 413


def test_injection_strings_are_stored_as_text_and_rendered_escaped(service):
    hostile = "'); DROP TABLE cases; -- <script>alert('x')</script><img src=x onerror=alert(1)> 小区路灯坏了"
    created = service.post("/v1/cases", json={"text": hostile, "title": "<b>标题</b>", "channel": "web",
                                              "metadata": {"note": "1 OR 1=1"}}, headers=service.keys["intake"])
    assert created.status_code == 201
    case_id = created.json()["id"]
    assert service.get(f"/v1/cases/{case_id}", headers=service.keys["reviewer"]).json()["text"] == hostile
    key = service.keys["reviewer"]["Authorization"].removeprefix("Bearer ")
    service.post("/ui/login", data={"key": key})
    page = service.get(f"/ui/cases/{case_id}").text
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>标题</b>" not in page
    assert "&lt;script&gt;" in page
    queue = service.get("/ui/queue").text
    assert "<script>alert" not in queue
