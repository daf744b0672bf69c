"""Builds the default routing table: Qinghai's prefectures and counties × the taxonomy's departments,
offices named by the usual pattern (青海省…厅, 西宁市…局, 城东区…局), provincial departments as the
fallback, and 欠薪 cases within hrss to the labour inspection brigades. A deployment replaces it."""

from __future__ import annotations

from datetime import date

from petition_triage.model.taxonomy import load_taxonomy

from .places import _divisions
from .routing import Rule, RoutingTable

PROVINCE = "青海省"
WAGE_ARREARS = ("欠薪", "拖欠工资", "讨薪", "工钱", "欠工资", "拖欠我们")
# Offices that exist at prefecture level only.
PREFECTURE_ONLY = {"sasac"}


def _local(name_zh: str) -> str:
    return name_zh.replace("卫生健康委员会", "卫生健康局").removesuffix("厅") + ("局" if name_zh.endswith("厅") else "")


def build_default_table() -> RoutingTable:
    province = _divisions()[PROVINCE]
    rules: list[Rule] = []
    departments = [d for d in load_taxonomy().departments if d.code != "other"]
    province_code = province["_admin_code"][:2]
    for dept in departments:
        rules.append(Rule(f"{dept.code}-{province_code}", dept.code, PROVINCE + dept.name_zh, province_code))
    for city, city_node in province.items():
        if city.startswith("_"):
            continue
        city_code = city_node["_admin_code"][:4]
        for dept in departments:
            rules.append(Rule(f"{dept.code}-{city_code}", dept.code, city + _local(dept.name_zh), city_code))
        rules.append(Rule(f"hrss-wages-{city_code}", "hrss", city + "劳动保障监察支队", city_code, 10, WAGE_ARREARS))
        for county, county_node in city_node.items():
            if county.startswith("_"):
                continue
            code = county_node["_admin_code"]
            for dept in departments:
                if dept.code not in PREFECTURE_ONLY:
                    rules.append(Rule(f"{dept.code}-{code}", dept.code, county + _local(dept.name_zh), code))
            rules.append(Rule(f"hrss-wages-{code}", "hrss", county + "劳动保障监察大队", code, 10, WAGE_ARREARS))
    return RoutingTable(version=f"default-{date.today().isoformat()}", dispatcher="青海省信访局人工分办", rules=rules)
