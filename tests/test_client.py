"""The Python client against a running service (a real `petition-triage serve` process), and its
retries on 503 and refusals."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest
from conftest import free_port, start_server
from pydantic import ValidationError

from petition_triage.client import APIError, AsyncClient, Client
from petition_triage.service.api.keys import create_key
from petition_triage.service.api.schemas import Classification, CorrectionRequest, Submission
from petition_triage.service.storage.database import Database, migrate

LETTER = "我们小区的电梯上个月坏了三次，有一次把一位老人困在里面快一个小时，物业只派人简单看了看就走了。"


@pytest.fixture
def served(tmp_path, hand_scored_model):
    database_url = f"sqlite:///{tmp_path / 'client.db'}"
    database = Database(database_url)
    migrate(database.engine)
    with database.sessions() as session:
        keys = {role: create_key(session, role, role) for role in ("intake", "reviewer")}
    database.engine.dispose()
    env = {**os.environ, "DATABASE_URL": database_url, "PETITION_TRIAGE_MODEL_DIR": str(hand_scored_model),
           "PETITION_TRIAGE_HOME": str(tmp_path / "home"), "PETITION_TRIAGE_NOTIFY_INTERVAL_S": "0"}
    port = free_port()
    process = start_server(env, port)
    yield f"http://127.0.0.1:{port}", keys
    process.terminate()
    process.wait(10)


def test_sync_and_async_clients_speak_the_api(served):
    url, keys = served
    with Client(url, keys["intake"]) as intake:
        one = intake.classify(LETTER, channel="hotline")
        assert isinstance(one, Classification) and one.department.top_k
        batch = intake.classify_batch([Submission(text=LETTER), Submission(text="请问社保怎么转移？")])
        assert [r.department.label for r in batch][0] == one.department.label
        created = intake.register_case(LETTER, channel="web", metadata={"phone": "13900001234"})
        again = intake.register_case(LETTER, channel="wechat", metadata={"phone": "13900001234"})
        assert again.duplicates and again.duplicates[0].case_id == created.id
        assert intake.search_duplicates(LETTER).matches
        with pytest.raises(APIError) as refused:
            intake.get_case(created.id)  # a reviewer's route
        assert refused.value.status == 403
        with pytest.raises(ValidationError):  # checked here, before anything is sent
            intake.classify("   ")
        with pytest.raises(APIError) as too_many:  # checked by the service
            intake.classify_batch([Submission(text=LETTER)] * 65)
        assert too_many.value.status == 422 and too_many.value.detail

    async def reviewer_work():
        async with AsyncClient(url, keys["reviewer"]) as reviewer:
            detail = await reviewer.correct(created.id, CorrectionRequest(department="housing", reason="物业归住建"))
            case = await reviewer.get_case(created.id)
            issues = await reviewer.hot_issues()
            return detail, case, issues

    detail, case, issues = asyncio.run(reviewer_work())
    assert detail.history[-1].to_value == "housing" and case.id == created.id
    assert issues.items == [] or issues.items[0].submitters >= 1


def test_503_is_retried_with_the_servers_retry_after_and_then_given_up():
    answers = iter([httpx.Response(503, headers={"Retry-After": "0"}, json={"detail": "no model is loaded"}),
                    httpx.Response(503, headers={"Retry-After": "0"}, json={"detail": "no model is loaded"})])
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(answers, httpx.Response(200, json={"items": [], "since": "2026-12-01T00:00:00Z",
                                                      "until": "2026-12-07T00:00:00Z"}))

    with Client("http://triage.invalid", "pt_x", transport=httpx.MockTransport(handler), backoff=0) as client:
        assert client.hot_issues().items == []
    assert len(seen) == 3 and seen[0].headers["Authorization"] == "Bearer pt_x"
    always = httpx.MockTransport(lambda request: httpx.Response(503, json={"detail": "the database is away"}))
    with Client("http://triage.invalid", transport=always, retries=2, backoff=0) as client:
        with pytest.raises(APIError, match="the database is away"):
            client.hot_issues()
