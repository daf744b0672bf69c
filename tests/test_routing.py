"""Places, the routing rule engine (priorities, specificity, conflicts, fallback), the default Qinghai
table, and routes through the API."""

from __future__ import annotations

import pytest
from conftest import running_service

from petition_triage.config import Settings
from petition_triage.places import Place, extract_place
from petition_triage.service.offices.routing import RoutingTable

CHENGDONG = Place(province="青海省", city="西宁市", county="城东区", code="630102", source="text")
NOWHERE = Place()


def _table(*rules: dict) -> RoutingTable:
    return RoutingTable.from_dict({"version": "t1", "dispatcher": "人工分办", "rules": list(rules)})


TABLE = _table(
    {"id": "hrss-63", "department": "hrss", "region": "63", "office": "青海省人社厅"},
    {"id": "hrss-6301", "department": "hrss", "region": "6301", "office": "西宁市人社局"},
    {"id": "hrss-630102", "department": "hrss", "region": "630102", "office": "城东区人社局"},
    {"id": "hrss-wages-630102", "department": "hrss", "region": "630102", "priority": 10,
     "keywords": ["欠薪", "拖欠工资"], "office": "城东区劳动保障监察大队"},
    {"id": "housing-63", "department": "housing", "region": "63", "office": "青海省住建厅"},
)


def test_the_most_specific_and_highest_priority_rule_fires():
    route = TABLE.route([("hrss", 0.9), ("housing", 0.05)], CHENGDONG, "社保转移接续办不了", "web")
    assert (route.office, route.rule) == ("城东区人社局", "hrss-630102")
    wages = TABLE.route([("hrss", 0.9)], CHENGDONG, "老板拖欠工资半年", "hotline")
    assert (wages.office, wages.rule) == ("城东区劳动保障监察大队", "hrss-wages-630102")
    elsewhere = Place(province="青海省", city="西宁市", county="城北区", code="630105")
    assert TABLE.route([("hrss", 0.9)], elsewhere, "社保", None).office == "西宁市人社局"


def test_fallbacks_unknown_place_split_department_and_no_rule():
    unknown = TABLE.route([("hrss", 0.9)], NOWHERE, "社保", None)
    assert unknown.office == "人工分办" and unknown.rule is None, "only region-less rules route an unknown place"
    split = TABLE.route([("hrss", 0.45), ("housing", 0.40)], CHENGDONG, "物业拖欠保安工资", None)
    assert split.office == "人工分办" and split.department is None
    assert [(o.department, o.office) for o in split.options] == [("hrss", "城东区人社局"), ("housing", "青海省住建厅")]
    none = TABLE.route([("education", 0.9)], CHENGDONG, "学区划分", None)
    assert none.office == "人工分办" and "no rule" in none.reason
    anywhere = _table({"id": "edu", "department": "education", "office": "省教育厅"})
    assert anywhere.route([("education", 0.9)], NOWHERE, "", None).office == "省教育厅"


def test_check_finds_conflicts_and_rules_that_never_fire():
    table = _table(
        {"id": "a", "department": "hrss", "region": "6301", "office": "甲"},
        {"id": "b", "department": "hrss", "region": "6301", "office": "乙"},
        {"id": "c", "department": "housing", "region": "6301", "priority": 5, "office": "丙"},
        {"id": "d", "department": "housing", "region": "6301", "priority": 1, "office": "丁"},
        {"id": "e", "department": "housing", "region": "西宁", "office": "戊"},
    )
    problems = table.check()
    assert any(p.startswith("conflict: rules a, b") for p in problems)
    assert any(p.startswith("rule d can never fire") for p in problems)
    assert any("rule e" in p and "division-code" in p for p in problems)
    assert TABLE.check() == []
    with pytest.raises(ValueError, match="unique"):
        _table({"id": "x", "department": "a", "office": "o"}, {"id": "x", "department": "b", "office": "p"})


def test_default_table_routes_to_county_offices_and_labour_inspection():
    table = RoutingTable.load()
    assert table.check() == [] and len(table.rules) > 900
    place = extract_place("我是化隆县群科镇某村村民，修路征了我家的地，补偿款一直没发。")
    assert (place.county, place.code, place.town) == ("化隆回族自治县", "630224", "群科镇")
    assert table.route([("natural_resources", 0.8)], place, "征地补偿", "letter").office == "化隆回族自治县自然资源局"
    wages = table.route([("hrss", 0.8)], place, "包工头拖欠工资", "hotline")
    assert wages.office == "化隆回族自治县劳动保障监察大队"
    assert table.route([("hrss", 0.8)], Place(province="青海省", code="63"), "社保", None).office == \
        "青海省人力资源和社会保障厅"


def test_places_combine_text_and_channel_and_keep_objects():
    place = extract_place("小区供暖不热，请热力公司检修。", "青海省西宁市城北区朝阳街道")
    assert place.county == "城北区" and place.code == "630105" and place.source == "channel"
    both = extract_place("城北区朝阳街道幸福家园小区的供暖一直不达标。", "青海省西宁市")
    assert both.county == "城北区" and both.source == "text+channel"
    assert "幸福家园小区" in both.objects
    assert extract_place("路灯坏了。").code is None


@pytest.fixture
def service(tmp_path, tiny_model_dir, database_url):
    with running_service(Settings(home=tmp_path / "home", model_dir=tiny_model_dir, database_url=database_url,
                                  notify_interval_s=0)) as client:
        yield client


def test_routes_in_responses_table_versions_and_office_corrections(service):
    text = "西宁市城东区某工地包工头拖欠我们十几个人的工资，请劳动部门帮忙。"
    classified = service.post("/v1/classify", json={"text": text}, headers=service.keys["intake"]).json()
    assert classified["place"]["code"] == "630102"
    assert classified["route"]["office"] and classified["route"]["table_version"].startswith("default")

    admin = service.keys["admin"]
    conflicting = {"version": "v2", "dispatcher": "人工分办", "rules": [
        {"id": "a", "department": "hrss", "region": "6301", "office": "甲"},
        {"id": "b", "department": "hrss", "region": "6301", "office": "乙"}]}
    refused = service.put("/v1/routing-table", json=conflicting, headers=admin)
    assert refused.status_code == 422 and "conflict" in refused.json()["detail"]
    assert service.put("/v1/routing-table", json={"rules": []}, headers=admin).status_code == 422
    # Wrong types are named and refused, and classification goes on with the table in force.
    good = {"id": "w", "department": "hrss", "office": "人社局"}
    for wrong_rule, named in (({"office": 123}, "office must be"), ({"keywords": [1]}, "keywords must be"),
                              ({"office": ["甲"]}, "office must be"), ({"priority": "high"}, "priority must be")):
        table = {"version": "bad", "dispatcher": "人工分办", "rules": [{**good, **wrong_rule}]}
        answer = service.put("/v1/routing-table", json=table, headers=admin)
        assert answer.status_code == 422 and named in answer.json()["detail"], answer.text
    for table in ({"version": "bad", "dispatcher": "人工分办", "rules": {"a": good}},
                  {"version": "bad", "dispatcher": {"name": "x"}, "rules": [good]},
                  {"version": "bad", "dispatcher": "人工分办", "rules": "hrss"}, ["not", "a", "table"]):
        assert service.put("/v1/routing-table", json=table, headers=admin).status_code == 422
    assert service.post("/v1/classify", json={"text": text}, headers=service.keys["intake"]).status_code == 200
    # A malformed version already in the database (stored before these checks) is skipped, not served.
    from petition_triage.service.storage.tables import RoutingTableVersion

    in_force = service.app_state.routing.current().version
    with service.app_state.database.sessions() as session:
        session.add(RoutingTableVersion(version="stored-bad", content={"version": "stored-bad", "dispatcher": "人工分办",
                                                                       "rules": [{**good, "office": 1}]},
                                        actor="old"))
        session.commit()
    service.app_state.routing._refresh()
    assert service.app_state.routing.current().version == in_force
    assert service.post("/v1/classify", json={"text": text}, headers=service.keys["intake"]).status_code == 200
    departments = classified["department"]["top_k"]
    rules = [{"id": f"r{i}", "department": d["label"], "office": f"{d['label']}办"} for i, d in enumerate(departments)]
    accepted = service.put("/v1/routing-table", json={"version": "v2", "dispatcher": "人工分办", "rules": rules},
                           headers=admin)
    assert accepted.status_code == 200 and accepted.json()["version"] == "v2" and accepted.json()["problems"] == []
    assert service.put("/v1/routing-table", json=conflicting, headers=service.keys["reviewer"]).status_code == 403
    assert service.get("/v1/routing-table", headers=service.keys["reviewer"]).json()["version"] == "v2"

    case = service.post("/v1/cases", json={"text": text}, headers=service.keys["intake"]).json()
    assert case["classification"]["route"]["table_version"] == "v2"
    wrong = service.post(f"/v1/cases/{case['id']}/corrections", json={"office": "不存在的局"}, headers=service.keys["reviewer"])
    assert wrong.status_code == 422 and "routing table" in wrong.json()["detail"]
    fixed = service.post(f"/v1/cases/{case['id']}/corrections", json={"office": rules[-1]["office"]},
                         headers=service.keys["reviewer"])
    assert fixed.status_code == 200 and fixed.json()["current"]["office"] == rules[-1]["office"]
    assert fixed.json()["history"][-1]["field"] == "office"


def test_a_table_put_through_one_process_is_used_by_another(tmp_path, tiny_model_dir):
    url = f"sqlite:///{tmp_path}/shared.db"
    settings = dict(model_dir=tiny_model_dir, database_url=url, notify_interval_s=0, routing_refresh_s=0)
    with running_service(Settings(home=tmp_path / "a", **settings)) as first, \
            running_service(Settings(home=tmp_path / "b", **settings), key_suffix="-b") as second:
        text = "请问城东区的社保卡丢了怎么补办？"
        before = second.post("/v1/classify", json={"text": text}, headers=second.keys["intake"]).json()
        assert before["route"]["table_version"].startswith("default")
        rules = [{"id": d["label"], "department": d["label"], "office": "统一受理窗口"}
                 for d in before["department"]["top_k"]]
        table = {"version": "shared-v2", "dispatcher": "人工分办", "rules": rules}
        assert first.put("/v1/routing-table", json=table, headers=first.keys["admin"]).status_code == 200
        after = second.post("/v1/classify", json={"text": text}, headers=second.keys["intake"]).json()
        assert after["route"]["table_version"] == "shared-v2"
