"""The HTTP API on a tiny model, against SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from conftest import running_service

from petition_triage.config import Settings

TEXT = "来电人反映：西宁市城东区某小区电梯经常故障，上周把一位老人困在里面半小时，物业一直不修，要求尽快处理。"


@pytest.fixture
def service(tmp_path, tiny_model_dir, database_url):
    settings = Settings(home=tmp_path / "home", model_dir=tiny_model_dir, database_url=database_url,
                        max_body_bytes=200_000)
    with running_service(settings) as client:
        yield client


def test_classify_gives_every_head(service):
    response = service.post("/v1/classify", json={"text": TEXT, "channel": "hotline"}, headers=service.keys["intake"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"]["label"] in ("demand", "suggestion", "inquiry")
    assert abs(sum(body["type"]["probabilities"].values()) - 1) < 1e-3
    assert len(body["department"]["top_k"]) == 3
    probs = [d["probability"] for d in body["department"]["top_k"]]
    assert probs == sorted(probs, reverse=True)
    assert body["risk"]["level"] in ("normal", "elevated", "high") and 0 <= body["risk"]["score"] <= 1
    keyword_reasons = {r["code"]: r for r in body["risk"]["reasons"] if r["source"] == "keyword"}
    assert keyword_reasons["vulnerable_group"]["evidence"] == "老人"
    assert body["model_version"] and isinstance(body["needs_review"], bool)


def test_keyword_cue_of_self_harm_sends_the_case_to_review(service):
    response = service.post("/v1/classify", json={"text": "工资拖了两年要不回来，我实在不想活了，明天就去跳楼。"},
                            headers=service.keys["intake"])
    body = response.json()
    assert body["needs_review"] is True
    assert any("扬言轻生" in r for r in body["review_reasons"])
    assert body["risk"]["level"] != "normal"
    assert {"self_harm", "wage_arrears"} <= {r["code"] for r in body["risk"]["reasons"] if r["source"] == "keyword"}


def test_batch_classification_and_its_limit(service):
    items = [{"text": TEXT}, {"text": "请问异地就医备案需要什么材料？"}]
    response = service.post("/v1/classify:batch", json={"items": items}, headers=service.keys["intake"])
    assert response.status_code == 200 and len(response.json()["items"]) == 2
    too_many = service.post("/v1/classify:batch", json={"items": [{"text": "测试文本内容"}] * 65},
                            headers=service.keys["intake"])
    assert too_many.status_code == 422 and "64" in too_many.text


@pytest.mark.parametrize("payload, fragment", [
    ({"text": ""}, "empty"),
    ({"text": "   \n\t "}, "empty"),
    ({"text": "字" * 20_001}, "20000"),
    ({"text": 12345}, "string"),
    ({"title": "只有标题"}, "text"),
    ({"text": "正常文本", "channel": "fax"}, "channel"),
])
def test_bad_input_is_a_clear_422(service, payload, fragment):
    response = service.post("/v1/classify", json=payload, headers=service.keys["intake"])
    assert response.status_code == 422
    assert fragment in response.text


def test_malformed_json_and_oversized_bodies_are_refused(service):
    bad = service.post("/v1/classify", content=b'{"text": "abc', headers={**service.keys["intake"],
                                                                       "Content-Type": "application/json"})
    assert bad.status_code == 422 and "JSON" in bad.text
    huge = service.post("/v1/classify", content=b"x" * 300_000, headers={**service.keys["intake"],
                                                                        "Content-Type": "application/json"})
    assert huge.status_code == 413 and "exceeds the limit" in huge.json()["detail"]


def test_authentication_and_roles(service):
    assert service.post("/v1/classify", json={"text": TEXT}).status_code == 401
    wrong = service.post("/v1/classify", json={"text": TEXT}, headers={"X-API-Key": "pt_nope"})
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.json()["detail"]
    assert service.get("/v1/review/queue", headers=service.keys["intake"]).status_code == 403
    forbidden = service.post("/v1/models:rollback", headers=service.keys["reviewer"])
    assert forbidden.status_code == 403 and "admin role" in forbidden.json()["detail"]
    assert service.get("/v1/models", headers=service.keys["admin"]).status_code == 200


def test_register_correct_and_read_history(service):
    created = service.post("/v1/cases", json={"text": TEXT, "channel": "hotline",
                                              "metadata": {"phone": "13900001234", "work_order": "A-1"}},
                           headers=service.keys["intake"])
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    predicted = created.json()["classification"]["department"]["label"]

    detail = service.get(f"/v1/cases/{case_id}", headers=service.keys["reviewer"]).json()
    assert detail["text"] == TEXT and detail["history"] == []
    assert detail["metadata"] == {"work_order": "A-1"}, "contact numbers are not stored in clear"

    first = service.post(f"/v1/cases/{case_id}/corrections", headers=service.keys["reviewer"],
                         json={"department": "market_regulation", "reason": "电梯属特种设备"})
    assert first.status_code == 200, first.text
    second = service.post(f"/v1/cases/{case_id}/corrections", headers=service.keys["reviewer"],
                          json={"department": "housing", "risk": "elevated"})
    history = second.json()["history"]
    assert [(e["field"], e["from_value"], e["to_value"]) for e in history] == [
        ("department", predicted, "market_regulation"), ("department", "market_regulation", "housing"),
        ("risk", detail["current"]["risk"], "elevated")]
    assert history[0]["actor"] == "test-reviewer" and history[0]["reason"] == "电梯属特种设备"
    assert history[0]["model_version"] == created.json()["classification"]["model_version"]
    assert second.json()["current"]["department"] == "housing"
    assert second.json()["classification"]["department"]["label"] == predicted, "predictions are never overwritten"


def test_correction_errors(service):
    case_id = service.post("/v1/cases", json={"text": TEXT}, headers=service.keys["intake"]).json()["id"]
    unknown_label = service.post(f"/v1/cases/{case_id}/corrections", json={"department": "mayor"},
                                 headers=service.keys["reviewer"])
    assert unknown_label.status_code == 422 and "unknown department 'mayor'" in unknown_label.json()["detail"]
    empty = service.post(f"/v1/cases/{case_id}/corrections", json={"reason": "no change"},
                         headers=service.keys["reviewer"])
    assert empty.status_code == 422 and "at least one" in empty.json()["detail"]
    missing = service.post("/v1/cases/no-such-case/corrections", json={"department": "housing"},
                           headers=service.keys["reviewer"])
    assert missing.status_code == 404 and "no-such-case" in missing.json()["detail"]
    assert service.get("/v1/cases/nope", headers=service.keys["reviewer"]).status_code == 404


def test_corrections_export_feeds_training(service, tmp_path, monkeypatch):
    from petition_triage.service.storage.case_store import export_corrections
    from petition_triage.training.data import merge_corrections, read_corrections

    case_id = service.post("/v1/cases", json={"text": TEXT}, headers=service.keys["intake"]).json()["id"]
    service.post(f"/v1/cases/{case_id}/corrections", json={"type": "demand"}, headers=service.keys["reviewer"])
    service.post(f"/v1/cases/{case_id}/corrections", json={"department": "market_regulation"},
                 headers=service.keys["reviewer"])
    out = tmp_path / "corrections.jsonl"
    with service.app_state.database.sessions() as session:
        assert export_corrections(session, out) == 1
    rows = read_corrections(out)
    assert rows[0]["labels"] == {"type": "demand", "department": "market_regulation"}
    merged = merge_corrections([], rows)
    assert merged[0].labels == {"type": "demand", "department": "market_regulation", "risk": None}


def test_review_queue_lists_uncorrected_uncertain_cases(service):
    ids = [service.post("/v1/cases", json={"text": f"{TEXT}（第{i}次）" if i else TEXT},
                        headers=service.keys["intake"]).json()["id"] for i in range(3)]
    other = service.post("/v1/cases", json={"text": "建议在南川河沿岸增设公共厕所和休息座椅，方便晨练的市民。"},
                         headers=service.keys["intake"]).json()["id"]
    queue = service.get("/v1/review/queue?limit=10", headers=service.keys["reviewer"]).json()["items"]
    listed = [item["id"] for item in queue]
    # Near-identical texts appear once at most; the tiny model is unsure of everything.
    assert len(set(listed) & set(ids)) == 1 and other in listed
    assert [i["priority"] for i in queue] == sorted((i["priority"] for i in queue), reverse=True)
    service.post(f"/v1/cases/{other}/corrections", json={"type": "suggestion"}, headers=service.keys["reviewer"])
    again = service.get("/v1/review/queue?limit=10", headers=service.keys["reviewer"]).json()["items"]
    assert other not in [i["id"] for i in again], "a corrected case leaves the queue"


def test_accepting_a_prediction_takes_the_case_out_of_the_queue_and_into_training(service, tmp_path):
    from datetime import datetime, timezone

    from petition_triage.service.storage.case_store import export_corrections, reviewed_since

    reviewer = service.keys["reviewer"]
    case_id = service.post("/v1/cases", json={"text": "建议在南川河沿岸增设公共厕所和休息座椅，方便晨练的市民。"},
                           headers=service.keys["intake"]).json()["id"]
    assert case_id in [i["id"] for i in service.get("/v1/review/queue?limit=50", headers=reviewer).json()["items"]]
    service.post(f"/v1/cases/{case_id}/corrections", json={"department": "housing"}, headers=reviewer)
    accepted = service.post(f"/v1/cases/{case_id}/accept", json={"reason": "其余预测正确"}, headers=reviewer)
    assert accepted.status_code == 200, accepted.text
    detail = accepted.json()
    assert detail["history"][-1]["field"] == "review" and detail["history"][-1]["to_value"] == "accepted"
    assert detail["current"]["department"] == "housing", "accepting changes no label"
    assert case_id not in [i["id"] for i in service.get("/v1/review/queue?limit=50", headers=reviewer).json()["items"]]
    out = tmp_path / "reviewed.jsonl"
    with service.app_state.database.sessions() as session:
        assert export_corrections(session, out) == 1
        # Counted once, as corrected (it was corrected before it was accepted).
        assert reviewed_since(session, datetime(2000, 1, 1, tzinfo=timezone.utc)) == {"accepted": 0, "corrected": 1}
    labels = json.loads(out.read_text(encoding="utf-8"))["labels"]
    # The accepted labels as they stood: the predicted type and risk, the corrected department.
    assert labels["department"] == "housing" and labels["type"] == detail["classification"]["type"]["label"]
    assert labels["risk"] == detail["classification"]["risk"]["level"]
    assert service.post("/v1/cases/nope/accept", headers=reviewer).status_code == 404
    assert service.post(f"/v1/cases/{case_id}/accept", headers=service.keys["intake"]).status_code == 403


def test_health_readiness_and_metrics(service):
    assert service.get("/healthz").json()["status"] == "ok"
    ready = service.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok" and ready.json()["model_version"]
    service.post("/v1/classify", json={"text": TEXT}, headers=service.keys["intake"])
    metrics = service.get("/metrics").text
    assert "triage_http_requests_total" in metrics and 'route="/v1/classify"' in metrics
    assert "triage_inference_batch_size_bucket" in metrics and "triage_predictions_total" in metrics


def test_openapi_documents_every_route_with_chinese_examples(service):
    spec = service.get("/openapi.json").json()
    for path in ("/v1/classify", "/v1/classify:batch", "/v1/cases", "/v1/cases/{case_id}",
                 "/v1/cases/{case_id}/corrections", "/v1/review/queue", "/v1/models", "/v1/models/{version}:activate"):
        assert path in spec["paths"], path
    assert "来电人反映" in json.dumps(spec, ensure_ascii=False)


def _copy_model(source: Path, target: Path, version: str) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("pytorch"))
    artifact = json.loads((target / "artifact.json").read_text())
    artifact["version"] = version
    (target / "artifact.json").write_text(json.dumps(artifact))
    return target


def test_activate_and_roll_back_without_restart(service, tiny_model_dir):
    root = service.app_state.settings.models_root
    _copy_model(tiny_model_dir, root / "v2", "v2")
    broken = _copy_model(tiny_model_dir, root / "v3", "v3")
    (broken / "model.onnx").write_bytes(b"not an onnx file")
    admin = service.keys["admin"]
    before = service.post("/v1/classify", json={"text": TEXT}, headers=service.keys["intake"]).json()["model_version"]

    assert service.post("/v1/cases", json={"text": TEXT}, headers=service.keys["intake"]).status_code == 201
    replaced = service.app_state.registry.predictor
    activated = service.post("/v1/models/v2:activate", headers=admin)
    assert activated.status_code == 200 and activated.json()["version"] == "v2"
    assert activated.json()["cases_to_reindex"] == 1, "the stored case was embedded by the earlier model"
    assert service.post("/v1/classify", json={"text": TEXT}, headers=service.keys["intake"]).json()["model_version"] == "v2"
    # The replaced model's batcher worker ends, and with it the hold on its onnxruntime session.
    for _ in range(100):
        if replaced.batcher._worker.done():
            break
        time.sleep(0.02)
    assert replaced.batcher._worker.done()

    refused = service.post("/v1/models/v3:activate", headers=admin)
    assert refused.status_code == 409 and "keeps serving" in refused.json()["detail"]
    assert service.post("/v1/classify", json={"text": TEXT}, headers=service.keys["intake"]).json()["model_version"] == "v2"
    assert service.post("/v1/models/v9:activate", headers=admin).status_code == 404

    rolled = service.post("/v1/models:rollback", headers=admin)
    assert rolled.status_code == 200 and rolled.json()["version"] == before
    assert rolled.json()["cases_to_reindex"] == 0
    listed = {m["version"]: m["active"] for m in service.get("/v1/models", headers=admin).json()["items"]}
    assert listed[before] is True and listed["v2"] is False


def test_serving_never_imports_torch(tiny_model_dir):
    import subprocess
    import sys

    code = ("import sys; from petition_triage.service.app import create_app; "
            "from petition_triage.model.inference import OnnxTriageModel; "
            f"OnnxTriageModel({str(tiny_model_dir)!r}).logits(['测试文本']); "
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


def test_every_route_needs_its_role(service):
    """No key reads or writes nothing; a reviewer cannot do what only admins may."""
    public = {"/healthz", "/readyz", "/v1/public/cases/{case_id}/status"}
    admin_only = {("POST", "/v1/models/{version}:activate"), ("POST", "/v1/models:rollback"), ("GET", "/v1/models"),
                  ("POST", "/v1/webhooks"), ("GET", "/v1/webhooks"), ("DELETE", "/v1/webhooks/{webhook_id}"),
                  ("PUT", "/v1/routing-table"), ("GET", "/v1/routing-table/rules")}
    spec = service.get("/openapi.json").json()
    checked = 0
    for path, operations in spec["paths"].items():
        if path in public:
            continue
        url = (path.replace("{case_id}", "c1").replace("{version}", "v1").replace("{webhook_id}", "1")
               .replace("{link_id}", "1").replace("{channel}", "hotline"))
        for method in operations:
            assert service.request(method.upper(), url, json={}).status_code == 401, (method, path)
            if (method.upper(), path) in admin_only:
                refused = service.request(method.upper(), url, json={}, headers=service.keys["reviewer"])
                assert refused.status_code == 403, (method, path)
            checked += 1
    assert checked >= 20


def test_openapi_documents_errors_and_gives_chinese_examples(service):
    spec = service.get("/openapi.json").json()
    assert "ErrorDetail" in spec["components"]["schemas"]
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            errors = {code for code in operation["responses"] if code.startswith(("4", "5"))}
            assert errors, f"{method.upper()} {path} documents no error response"
            if path.startswith("/v1/") and not path.startswith("/v1/public/"):
                assert {"401", "403"} <= errors, f"{method.upper()} {path}: the key errors are not documented"
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                ref = media.get("schema", {}).get("$ref", "")
                schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else media.get("schema", {})
                examples = schema.get("examples") or media.get("examples") or media.get("example")
                assert examples, f"{method.upper()} {path}: the request body has no example"
                if path == "/v1/webhooks":
                    continue  # an address and event codes: nothing in it is written by people
                assert any("\u4e00" <= ch <= "\u9fff" for ch in json.dumps(examples, ensure_ascii=False)), \
                    f"{method.upper()} {path}: the example is not in Chinese"


def test_a_lone_surrogate_is_a_422_naming_it(service):
    body = '{"text": "我的电话13912345678，身份证630102199001011234\\ud800", "title": "x"}'
    response = service.post("/v1/classify", content=body.encode(), headers={**service.keys["intake"],
                                                                            "Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "text"]
    assert "13912345678" not in response.text, "a 422 names the field, it does not echo the input"
    titled = service.post("/v1/cases", content='{"text": "电梯坏了", "title": "\\udfff"}'.encode(),
                          headers={**service.keys["intake"], "Content-Type": "application/json"})
    assert titled.status_code == 422 and titled.json()["detail"][0]["loc"] == ["body", "title"]
    # Built in code rather than parsed from JSON (a file to `predict`), a submission refuses it too.
    from pydantic import ValidationError

    from petition_triage.service.api.schemas import Submission
    with pytest.raises(ValidationError, match="valid string"):
        Submission(text="电梯坏了\udfff")
