"""Schema-driven fuzzing of the whole HTTP API (schemathesis on the OpenAPI spec) and property tests of
the text pipeline (hypothesis): whatever arrives, no 500 and no crash."""

from __future__ import annotations

import schemathesis
from conftest import running_service
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from petition_triage.config import Settings
from petition_triage.privacy import mask_personal_data
from petition_triage.service.fingerprints import fingerprint, normalise

FUZZ = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def test_no_input_to_any_operation_gives_a_server_error(tmp_path, hand_scored_model):
    with running_service(Settings(home=tmp_path / "home", model_dir=hand_scored_model, notify_interval_s=0,
                                  database_url=f"sqlite:///{tmp_path}/fuzz.db")) as client:
        # The spec comes from the app; requests go through the same test client (and event loop) as the app's
        # micro-batcher, so each generated case is sent with `client.request`.
        schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 24
        failures = []
        for operation in operations:
            @given(case=operation.as_strategy())
            @FUZZ
            def fuzz(case):
                kwargs = case.as_transport_kwargs(headers=client.keys["admin"])
                kwargs.pop("base_url", None)
                response = client.request(**{k: v for k, v in kwargs.items() if k in (
                    "method", "url", "headers", "params", "json", "content", "data", "files", "cookies")})
                if response.status_code >= 500:
                    failures.append(f"{case.operation.label}: {response.status_code} {response.text[:200]}")

            fuzz()
        assert not failures, failures[:5]


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_text_pipeline_takes_any_text(text):
    normalise(text)
    masked = mask_personal_data(text)
    assert len(masked) == len(text)
    import numpy as np

    fp = fingerprint(text or "x", None, np.ones(4, dtype=np.float32), {"phone": text[:20] or None}, "salt")
    assert fp.text_hash and len(fp.minhash) == 64
