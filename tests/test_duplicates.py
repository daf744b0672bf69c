"""Duplicate search: fingerprints, the candidate index, the scorer, the HTTP routes, and two service
processes sharing one PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import typing
from collections import Counter
from datetime import datetime, timedelta, timezone

import httpx
import numpy as np
import pytest
from conftest import free_port, hand_scorer, running_service, start_server
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from petition_triage.config import Settings
from petition_triage.dedup.fingerprints import fingerprint
from petition_triage.dedup.index import STAGES, DuplicateIndex
from petition_triage.dedup.scorer import FEATURES, DuplicateScorer
from petition_triage.model.model_dir import SCORER_NAME
from petition_triage.places import code_relation
from petition_triage.service.api.keys import create_key
from petition_triage.service.app import create_app
from petition_triage.service.storage.database import Database, migrate
from petition_triage.service.storage.duplicate_store import sync_index
from petition_triage.service.storage.tables import Case, CaseFingerprint, DuplicateLink
from petition_triage.training.duplicate_fit import OUT_OF_FOLD

LETTER = ("尊敬的领导：我叫马福祥，是化隆县某村村民。2023年修路征了我家两亩三分水浇地，说好一年内发补偿款，"
          "到现在快两年了只发了一半，乡上说县上没拨，县上说找乡上，请领导给我们做主。")
OTHER = "请问异地就医备案需要准备哪些材料？在哪里办理？"


def _unit(seed: int, dim: int = 8) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=dim)
    return v / np.linalg.norm(v)


def _store_case(session, case_id: str, text: str = LETTER, fp=None, **fields) -> Case:
    """A stored case (and its fingerprint row, when given), flushed, as registering leaves them."""
    case = Case(**{"id": case_id, "channel": "web", "text": text, "meta": {}, "model_version": "m",
                   "classification": {}, **fields})
    session.add(case)
    session.flush()
    if fp is not None:
        session.add(CaseFingerprint.from_fingerprint(case_id, fp))
        session.flush()
    return case


def test_fingerprints_keep_contacts_and_names_only_as_salted_hashes():
    fp = fingerprint(LETTER, None, _unit(0), {"phone": "139 0000 1234", "name": "马福祥", "work_order": "A-1"}, "salt")
    again = fingerprint(LETTER, "标题", _unit(1), {"phone": "13900001234"}, "salt")
    other_salt = fingerprint(LETTER, None, _unit(0), {"phone": "13900001234"}, "pepper")
    stored = json.dumps([sorted(fp.contacts), sorted(fp.names)], ensure_ascii=False)
    assert "13900001234" not in stored and "1234" not in stored and "马福祥" not in stored
    assert fp.contacts == again.contacts, "spaces in a number do not change its hash"
    assert fp.contacts.isdisjoint(other_salt.contacts)
    assert len(fp.names) == 1 and not again.names
    assert abs(float(np.linalg.norm(fp.embedding)) - 1) < 1e-6
    assert "化隆县" in fp.terms or "化隆" in fp.terms
    assert "follow_up" in fingerprint("上次反映的征地补偿还是没人管", None, _unit(2), {}, "s").cues
    assert "other_matter" in fingerprint("这次想反映另一件事：优待证没办下来", None, _unit(3), {}, "s").cues


def test_components_are_named_by_their_smallest_member_whatever_the_link_order():
    from petition_triage.dedup.components import components

    links = [(5, 2), (2, 7), (3, 4)]
    expected = {1: 1, 2: 2, 3: 3, 4: 3, 5: 2, 7: 2}
    assert components([1, 2, 3, 4, 5, 7], links) == expected
    assert components([7, 5, 4, 3, 2, 1], list(reversed(links))) == expected


def test_index_proposes_candidates_from_every_stage():
    index = DuplicateIndex()
    copy = fingerprint(LETTER, None, _unit(0), {}, "s")
    same_person = fingerprint(OTHER, None, _unit(1), {"phone": "13900001234"}, "s")
    near = fingerprint("一篇完全不同的文字，说的是小区停车难", None, _unit(2), {}, "s")
    for i, fp in enumerate((copy, same_person, near)):
        index.add(f"case-{i}", fp)
    query = fingerprint(LETTER, None, _unit(2) * 0.9 + _unit(5) * 0.1, {"mobile": "13900001234"}, "s")
    found = {index._ids[row]: stages for row, stages in index.candidates(query, neighbours=1).items()}
    assert {"exact", "lexical"} <= set(found["case-0"])
    assert found["case-1"] == ["contact"]
    assert found["case-2"] == ["semantic"]
    assert len(index) == 3


def test_terms_stage_finds_a_retelling_the_embedding_misses(monkeypatch):
    import petition_triage.dedup.index as duplicate_index

    monkeypatch.setattr(duplicate_index, "TERM_MAX_CASES", 10)
    index = DuplicateIndex()
    query_embedding = _unit(50)
    index.add("first", fingerprint(LETTER, None, -query_embedding, {}, "s"))
    for i in range(30):  # every one shares 补偿款 with the query, too common to propose anything
        index.add(f"other-{i}", fingerprint(f"第{i}号楼的补偿款", None, _unit(100 + i), {}, "s"))
    retold = fingerprint("马福祥反映化隆县修路征地的补偿款只发了一半", None, query_embedding, {}, "s")
    found = {index._ids[row]: stages for row, stages in index.candidates(retold, neighbours=1).items()}
    assert "terms" in found["first"] and "semantic" not in found["first"]
    assert not any("terms" in stages for case_id, stages in found.items() if case_id != "first")
    # Every stage the index names is one the API's evidence can carry (a new stage once answered 500).
    from petition_triage.service.api.schemas import DuplicateEvidence

    annotation = DuplicateEvidence.model_fields["stages"].annotation
    assert set(typing.get_args(typing.get_args(annotation)[0])) == set(duplicate_index.STAGES)


def test_scorer_judges_pairs_and_round_trips(tmp_path):
    scorer = hand_scorer()
    a = fingerprint(LETTER, None, _unit(0), {"phone": "13900001234"}, "s")
    b = fingerprint("来电人" + LETTER, None, _unit(1), {"phone": "13900001234"}, "s")
    c = fingerprint(LETTER, None, _unit(2), {"phone": "13700005678"}, "s")
    d = fingerprint(OTHER, None, _unit(3), {"phone": "13900001234"}, "s")
    judged = [scorer.judge(scorer.probabilities(scorer.evidence(a, x).features)[0]) for x in (b, c, d)]
    assert judged == ["duplicate", "related", "none"]
    scorer.save(tmp_path)
    loaded = DuplicateScorer.load(tmp_path)
    assert loaded.thresholds == scorer.thresholds
    assert np.allclose(loaded.probabilities(scorer.evidence(a, b).features), scorer.probabilities(scorer.evidence(a, b).features))
    assert DuplicateScorer.load(tmp_path / "nowhere") is None


def test_pair_features_read_containment_time_and_place():
    scorer = hand_scorer()
    names = list(FEATURES)
    day = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    letter = fingerprint(LETTER, None, _unit(0), {"phone": "13900001234"}, "s", submitted_at=day, place_code="630224")
    # A one-line follow-up shares few of the letter's words (low Jaccard) but nearly all of its own.
    follow_up = fingerprint("征地补偿款还没发完，乡上县上互相推", None, _unit(1), {"phone": "13900001234"}, "s",
                            submitted_at=day + timedelta(days=20), place_code="630224")
    features = dict(zip(names, scorer.evidence(letter, follow_up).features))
    assert features["containment"] > 2 * features["lexical"]
    assert features["place_same"] == 1 and features["place_differs"] == 0
    assert 0.4 < features["time_apart"] < 0.7, "twenty days is about half way to a year on the log scale"
    assert features["person_x_time_apart"] == features["time_apart"]
    shown = scorer.evidence(letter, follow_up)
    assert shown.same_place is True and round(shown.days_apart) == 20 and shown.containment > shown.text_similarity
    elsewhere = fingerprint(LETTER, None, _unit(2), {}, "s", submitted_at=day + timedelta(days=800), place_code="630102")
    features = dict(zip(names, scorer.evidence(letter, elsewhere).features))
    assert features["place_differs"] == 1 and features["time_apart"] == 1.0 and features["person_x_containment"] == 0
    assert scorer.evidence(letter, elsewhere).same_place is False
    assert scorer.evidence(letter, fingerprint(OTHER, None, _unit(3), {}, "s")).same_place is None
    assert code_relation("630224", "630200") == "unknown", "a county and its own city may be the same place"
    assert code_relation("630224", "630100") == "differs" and code_relation(None, "630224") == "unknown"


def test_a_scorer_fitted_on_other_features_is_not_used(tmp_path):
    old = hand_scorer()
    old.coef = [row[:18] for row in old.coef]
    old.features = list(FEATURES[:18])
    old.save(tmp_path)
    assert DuplicateScorer.load(tmp_path) is None


def test_sync_gives_fingerprints_the_time_and_place_of_their_case(tmp_path, database_url):
    database = Database(database_url)
    migrate(database.engine)
    created = datetime(2026, 5, 4, 8, 30, tzinfo=timezone.utc)
    with database.sessions() as session:
        _store_case(session, "placed", fp=fingerprint(LETTER, None, _unit(0), {}, "s", embedding_model="m"),
                    created_at=created, region_code="630224")
        session.commit()
        index = DuplicateIndex()
        assert sync_index(index, session) == 1
    stored = index._fingerprints[0]
    assert stored.place_code == "630224" and stored.submitted_at == created.timestamp()
    database.engine.dispose()


def test_index_compares_only_embeddings_of_the_querys_model():
    index = DuplicateIndex()
    index.add("old", fingerprint(LETTER, None, _unit(0), {"phone": "13900001234"}, "s", embedding_model="v1"))
    index.add("new", fingerprint(OTHER, None, _unit(1), {"phone": "13900001234"}, "s", embedding_model="v2"))
    query = fingerprint(LETTER, None, _unit(0), {"phone": "13900001234"}, "s", embedding_model="v2")
    found = {index._ids[row] for row in index.candidates(query)}
    assert found == {"new"}, "an exact copy embedded by another model is not scored against this one"
    assert index.embedded_by() == {"v1": 1, "v2": 1}
    # The same case re-embedded (a newer row) replaces what the index held.
    index.add("old", fingerprint(LETTER, None, _unit(0), {"phone": "13900001234"}, "s", embedding_model="v2"), seq=9)
    assert {index._ids[row] for row in index.candidates(query)} == {"old", "new"}
    assert index.embedded_by() == {"v2": 2} and len(index) == 2


def test_reindex_re_embeds_stored_cases_and_running_indexes_follow(tmp_path, tiny_model_dir, database_url, monkeypatch):
    from petition_triage.cli import main
    from petition_triage.config import get_settings
    from petition_triage.model.inference import OnnxTriageModel

    database = Database(database_url)
    migrate(database.engine)
    with database.sessions() as session:
        for i, text in enumerate((LETTER, OTHER)):
            old = fingerprint(text, None, _unit(i, dim=4), {"phone": "13900001234"}, "s", embedding_model="old")
            _store_case(session, f"case-{i}", text, old, model_version="old")
        session.commit()
        index = DuplicateIndex()
        sync_index(index, session)
    version = OnnxTriageModel(tiny_model_dir).version
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        assert main(["duplicates", "reindex", "--model", str(tiny_model_dir), "--batch-size", "1"]) == 0
    finally:
        get_settings.cache_clear()
    with database.sessions() as session:
        rows = session.scalars(select(CaseFingerprint).order_by(CaseFingerprint.case_id)).all()
        assert [r.embedding_model for r in rows] == [version, version]
        assert all(r.contacts for r in rows), "contact hashes survive re-embedding"
        assert sync_index(index, session) == 0, "no new cases, only newer rows of known ones"
        assert session.scalar(select(func.count()).select_from(Case)) == 2
        renewed = rows[0].to_fingerprint()
    assert index.embedded_by() == {version: 2}
    width = len(renewed.embedding)
    assert width != 4 and np.allclose(index._embeddings[index._row_of["case-0"], :width], renewed.embedding)
    assert index._fingerprints[index._row_of["case-0"]].embedding_model == version
    assert {index._ids[row] for row in index.candidates(renewed)} == {"case-0", "case-1"}
    database.engine.dispose()


def test_fitted_scorer_is_measured_on_held_out_splits(tiny_model_dir):
    scorer = DuplicateScorer.load(tiny_model_dir)
    assert scorer is not None
    assert 0 < scorer.thresholds["duplicate"] < 1 and 0 < scorer.thresholds["related"] < 1
    for split in (OUT_OF_FOLD, "test"):
        report = scorer.report["splits"][split]
        assert report["combined_duplicates"]["gold"] > 0
        assert 0 <= report["combined_duplicates"]["precision"] <= 1
        assert report["candidates_recall_duplicates"] > 0.5, "candidate stages miss most duplicates"
        # Every candidate stage is measured alone beside the scorer.
        assert {f"{stage}_only_duplicates" for stage in STAGES} <= set(report)
    assert scorer.report["fit_pairs"] > 0
    # The real-style families: measured with contacts removed, re-posts and hot issues on a mix.
    assert scorer.report["corpora"] == ["first corpus", "real-style"]
    for split in ("real-style test", "real-style test, contacts removed"):
        assert scorer.report["splits"][split]["combined_duplicates"]["gold"] > 0
    assert scorer.report["reposts"]["pairs"] > 0 and 0 <= scorer.report["reposts"]["recall"] <= 1
    hot = scorer.report["hot_issues"]
    assert hot["unrelated_letters"] > 0 and 0 < hot["largest_cluster_share"] <= 1
    # The hot-issue link threshold was chosen on the dev mix, at or below the related one.
    tried = [t["issue_threshold"] for t in scorer.report["hot_issue_thresholds_on_dev"]]
    assert tried[0] == scorer.thresholds["related"] and tried == sorted(tried, reverse=True)
    assert scorer.thresholds["issue"] in tried
    assert hot["issue_threshold"] == scorer.thresholds["issue"] and 0 <= hot["public_issues_found"] <= hot["clusters_shown"]


@pytest.fixture
def service(tmp_path, hand_scored_model, database_url):
    settings = Settings(home=tmp_path / "home", model_dir=hand_scored_model, database_url=database_url,
                        contact_salt="test-salt")
    with running_service(settings) as client:
        yield client


def _register(service, text: str, channel: str, **metadata):
    response = service.post("/v1/cases", json={"text": text, "channel": channel, "metadata": metadata},
                            headers=service.keys["intake"])
    assert response.status_code == 201, response.text
    return response.json()


def test_register_links_a_duplicate_from_another_channel_and_reviewers_split_it(service):
    first = _register(service, LETTER, "letter", phone="13900001234", name="马福祥")
    assert first["duplicates"] == [] and first["duplicate_group"] is None
    second = _register(service, "来电人反映：" + LETTER, "hotline", phone="139-0000-1234", name="马福祥")
    (match,) = second["duplicates"]
    assert match["case_id"] == first["id"] and match["kind"] == "duplicate" and match["score"] > 0.9
    # The intake system that registered it learns nothing of contacts; reviewers see the evidence.
    assert match["evidence"]["same_contact"] is None and "contact" not in match["evidence"]["stages"]
    assert second["duplicate_group"] == first["id"]

    reviewer = service.keys["reviewer"]
    detail = service.get(f"/v1/cases/{first['id']}", headers=reviewer).json()
    assert detail["duplicate_group"] == first["id"]
    (link,) = detail["links"]
    assert link["status"] == "suggested" and link["case_id"] == second["id"]
    assert link["evidence"]["same_contact"] and link["evidence"]["same_name"]
    assert {"lexical", "contact"} <= set(link["evidence"]["stages"])

    split = service.post(f"/v1/duplicate-links/{link['id']}/review", headers=reviewer,
                         json={"action": "split", "reason": "同一人，两件事"})
    assert split.status_code == 200 and split.json()["status"] == "split"
    assert service.get(f"/v1/cases/{second['id']}", headers=reviewer).json()["duplicate_group"] is None
    confirmed = service.post(f"/v1/duplicate-links/{link['id']}/review", headers=reviewer, json={"action": "confirmed"})
    assert confirmed.json()["status"] == "confirmed"
    assert service.get(f"/v1/cases/{second['id']}", headers=reviewer).json()["duplicate_group"] == first["id"]

    assert service.post("/v1/duplicate-links/999999/review", headers=reviewer, json={"action": "split"}).status_code == 404
    bad = service.post(f"/v1/duplicate-links/{link['id']}/review", headers=reviewer, json={"action": "merge"})
    assert bad.status_code == 422
    assert service.post(f"/v1/duplicate-links/{link['id']}/review", headers=service.keys["intake"],
                        json={"action": "split"}).status_code == 403


def test_search_finds_without_storing(service):
    stored = _register(service, LETTER, "web", phone="13900001234")
    with service.app_state.database.sessions() as session:
        before = session.scalar(select(func.count()).select_from(Case))
    response = service.post("/v1/duplicates:search", headers=service.keys["intake"],
                            json={"text": LETTER, "channel": "wechat", "metadata": {"phone": "13900001234"}})
    assert response.status_code == 200, response.text
    assert [m["case_id"] for m in response.json()["matches"]] == [stored["id"]]
    evidence = response.json()["matches"][0]["evidence"]
    assert evidence["days_apart"] < 1 and evidence["containment"] > 0.9, evidence
    assert response.json()["indexed_cases"] == 1
    with service.app_state.database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == before
    assert service.post("/v1/duplicates:search", headers=service.keys["intake"], json={"text": " "}).status_code == 422
    assert service.post("/v1/duplicates:search", json={"text": LETTER}).status_code == 401


def test_hot_issue_counts_people_not_submissions(service):
    text = "城北区某小区门口的下水道堵了一个多月，污水漫到路面上，臭气熏天，居民出行困难，希望尽快疏通。"
    first = _register(service, text, "hotline", phone="13900000001")
    _register(service, "来电人" + text, "wechat", phone="13900000001")  # the same person again
    for i in (2, 3):
        created = _register(service, text, "web", phone=f"1390000000{i}")
        assert created["duplicates"][0]["kind"] == "related"
    _register(service, OTHER, "web")
    since = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    response = service.get("/v1/hot-issues", params={"since": since}, headers=service.keys["reviewer"])
    assert response.status_code == 200, response.text
    (issue,) = response.json()["items"]
    assert issue["cases"] == 4 and issue["submitters"] == 3
    assert issue["case_ids"][0] == first["id"]
    assert issue["trend"] in ("rising", "steady", "falling")
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert service.get("/v1/hot-issues", params={"since": later}, headers=service.keys["reviewer"]).status_code == 422
    assert service.get("/v1/hot-issues", headers=service.keys["intake"]).status_code == 403


def test_hot_issue_links_cluster_but_are_never_shown(tmp_path, hand_scored_model, database_url):
    """Links below the related threshold (down to the scorer's `issue` threshold) are stored for hot
    issues only: registration, search and the case page do not show them, nor can they be reviewed."""
    model = tmp_path / "issue-links"
    shutil.copytree(hand_scored_model, model)
    hand_scorer(related=0.9999, issue=0.3).save(model)
    settings = Settings(home=tmp_path / "home", model_dir=model, database_url=database_url, contact_salt="test-salt")
    text = "城北区某小区门口的下水道堵了一个多月，污水漫到路面上，臭气熏天，居民出行困难，希望尽快疏通。"
    with running_service(settings) as service:
        created = [_register(service, text, "web", phone=f"1390000000{i}") for i in (1, 2, 3)]
        assert all(c["duplicates"] == [] for c in created)
        reviewer = service.keys["reviewer"]
        assert service.get(f"/v1/cases/{created[0]['id']}", headers=reviewer).json()["links"] == []
        search = service.post("/v1/duplicates:search", headers=service.keys["intake"], json={"text": text})
        assert search.json()["matches"] == []
        with service.app_state.database.sessions() as session:
            links = session.scalars(select(DuplicateLink)).all()
        assert {link.kind for link in links} == {"issue"} and len(links) == 3
        assert service.post(f"/v1/duplicate-links/{links[0].id}/review", headers=reviewer,
                            json={"action": "split"}).status_code == 404
        since = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
        (issue,) = service.get("/v1/hot-issues", params={"since": since}, headers=reviewer).json()["items"]
        assert issue["submitters"] == 3 and sorted(issue["case_ids"]) == sorted(c["id"] for c in created)


def test_model_without_scorer_still_registers(tmp_path, tiny_model_dir):
    model = tmp_path / "no-scorer"
    shutil.copytree(tiny_model_dir, model)
    (model / SCORER_NAME).unlink()
    app = create_app(Settings(home=tmp_path / "home", model_dir=model, database_url=f"sqlite:///{tmp_path}/db.sqlite"))
    with TestClient(app) as client:
        with app.state.database.sessions() as session:
            key = {"X-API-Key": create_key(session, "intake", "intake")}
        assert client.post("/v1/cases", json={"text": LETTER}, headers=key).json()["duplicates"] == []
        refused = client.post("/v1/duplicates:search", json={"text": LETTER}, headers=key)
        assert refused.status_code == 503 and "duplicates fit" in refused.json()["detail"]


def test_a_case_bridging_two_groups_merges_them_under_their_earliest_case(tmp_path, database_url):
    from petition_triage.dedup.index import Match
    from petition_triage.dedup.scorer import PairEvidence
    from petition_triage.service.storage.duplicate_store import add_fingerprint_and_links, regroup

    database = Database(database_url)
    migrate(database.engine)
    start = datetime(2026, 1, 5, tzinfo=timezone.utc)
    # Group "a" = a (day 0) + b (day 3); group "c" = c (day 1) alone; the new case matches b and c only.
    with database.sessions() as session:
        for day, (case_id, group) in enumerate([("a", "a"), ("c", None), ("x", None), ("b", "a")]):
            _store_case(session, case_id, created_at=start + timedelta(days=day), duplicate_group=group)
        session.add(DuplicateLink(case_id="b", other_case_id="a", kind="duplicate", score=0.9, evidence={},
                                  created_at=start + timedelta(days=3)))
        new = _store_case(session, "new", created_at=start + timedelta(days=9))
        evidence = PairEvidence(semantic_similarity=0.9, text_similarity=0.5, shared_terms=[], same_contact=True,
                                same_name=False, features=np.zeros(len(FEATURES)))
        matches = [Match(case_id=other, kind="duplicate", score=0.9, stages=["contact"], evidence=evidence)
                   for other in ("b", "c")]
        add_fingerprint_and_links(session, new, fingerprint(LETTER, None, _unit(0), {}, "s", embedding_model="m"),
                                  matches)
        session.commit()
        grouped = {c.id: c.duplicate_group for c in session.scalars(select(Case))}
        assert grouped == {"a": "a", "b": "a", "c": "a", "new": "a", "x": None}
        regroup(session, {"new"})  # what a later review would recompute: the same name
        assert session.get(Case, "new").duplicate_group == "a"
    database.engine.dispose()


def test_sync_reads_rows_committed_out_of_sequence(tmp_path, database_url):
    database = Database(database_url)
    migrate(database.engine)
    index = DuplicateIndex()
    with database.sessions() as session:
        for case_id, seq in (("late-high", 50), ("early-low", 20)):
            _store_case(session, case_id, fp=fingerprint(LETTER, None, _unit(seq), {}, "s", embedding_model="m"))
            session.query(CaseFingerprint).filter_by(case_id=case_id).update({"seq": seq})
            session.commit()
            assert sync_index(index, session) == 1, f"{case_id} committed after a higher sequence number was seen"
        assert sync_index(index, session) == 0
    assert len(index) == 2
    database.engine.dispose()


def test_two_processes_on_postgresql_see_each_others_cases(tmp_path, hand_scored_model, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("several processes share PostgreSQL; SQLite is for one process")
    database = Database(database_url)
    migrate(database.engine)
    with database.sessions() as session:
        key = {"X-API-Key": create_key(session, "intake", "intake")}
    database.engine.dispose()
    env = {**os.environ, "DATABASE_URL": database_url, "PETITION_TRIAGE_MODEL_DIR": str(hand_scored_model),
           "PETITION_TRIAGE_HOME": str(tmp_path / "home"), "PETITION_TRIAGE_CONTACT_SALT": "shared-salt"}
    ports = [free_port(), free_port()]
    processes = []
    try:
        for port in ports:
            processes.append(start_server(env, port))
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        created = httpx.post(f"{urls[0]}/v1/cases", headers=key, timeout=30,
                             json={"text": LETTER, "channel": "letter", "metadata": {"phone": "13900001234"}}).json()
        found = httpx.post(f"{urls[1]}/v1/duplicates:search", headers=key, timeout=30,
                           json={"text": LETTER, "metadata": {"phone": "13900001234"}}).json()
        assert [m["case_id"] for m in found["matches"]] == [created["id"]]
        again = httpx.post(f"{urls[1]}/v1/cases", headers=key, timeout=30,
                           json={"text": "来电人反映：" + LETTER, "channel": "hotline",
                                 "metadata": {"phone": "13900001234"}}).json()
        assert again["duplicate_group"] == created["id"]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


def test_dense_clusters_do_not_chain_and_keep_cliques():
    from petition_triage.dedup.components import dense_clusters

    # A chain of one-neighbour links (each letter like the next, the first unlike the last) is one
    # connected component but no issue: it stays in pieces of at most three.
    chain = [(i, i + 1, 0.9) for i in range(20)]
    clusters = dense_clusters(range(21), chain)
    sizes = Counter(clusters.values())
    assert max(sizes.values()) <= 3

    # Five public issues of six submitters each, fully linked, plus a few weak links between issues.
    issues = [list(range(k * 6, k * 6 + 6)) for k in range(5)]
    links = [(a, b, 0.8) for members in issues for a in members for b in members if a < b]
    links += [(issues[k][0], issues[k + 1][0], 0.95) for k in range(4)]  # strong, but single, bridges
    clusters = dense_clusters(range(30), links)
    for members in issues:
        assert len({clusters[m] for m in members}) == 1
    assert len(set(clusters.values())) == 5


def test_pair_features_can_drop_contacts():
    from petition_triage.dedup.scorer import CONTACT_FEATURES, FEATURES, without_contacts

    row = np.arange(len(FEATURES), dtype=float) + 1
    stripped = without_contacts(row)
    for name in FEATURES:
        assert (stripped[FEATURES.index(name)] == 0) == (name in CONTACT_FEATURES)
