"""Names under which writers mention each department's agency (厅, 局, 委, their local offices).

Used to find which agency a text names: for the shortcut audit (how often the named agency is the
responsible one) and for masking agency names during training, so the model learns the matter
rather than the name of the office the writer happened to try.
"""

from __future__ import annotations

import re
from functools import lru_cache

AGENCY_NAMES: dict[str, tuple[str, ...]] = {
    "housing": ("住房和城乡建设厅", "住房和城乡建设局", "住建厅", "住建局", "住建委", "住建部门", "房管局", "房产局",
                "房屋管理局", "城管局", "城管执法局", "城市管理局", "综合执法局", "城管部门"),
    "hrss": ("人力资源和社会保障厅", "人力资源和社会保障局", "人社厅", "人社局", "人社部门", "社保局", "社保中心",
             "劳动监察大队", "劳动保障监察", "劳动监察部门", "劳动仲裁委", "劳动人事争议仲裁委员会", "就业局"),
    "transport": ("交通运输厅", "交通运输局", "交通局", "运管所", "运管处", "运管局", "公路局", "公路段", "交通执法"),
    "veterans": ("退役军人事务厅", "退役军人事务局", "退役军人局", "退役军人服务站", "退役军人服务中心"),
    "health": ("卫生健康委员会", "卫健委", "卫生健康委", "卫生局", "卫健局", "疾控中心", "卫生监督所"),
    "natural_resources": ("自然资源厅", "自然资源局", "自然资源和规划局", "国土局", "国土资源局", "不动产登记中心",
                          "规划局", "国土所"),
    "ecology": ("生态环境厅", "生态环境局", "生态环境分局", "环保局", "环境保护局", "环保部门"),
    "education": ("教育厅", "教育局", "教体局", "教育部门", "教育和体育局"),
    "public_security": ("公安厅", "公安局", "公安分局", "派出所", "交警大队", "交警支队", "交警", "刑警队"),
    "civil_affairs": ("民政厅", "民政局", "民政部门"),
    "market_regulation": ("市场监督管理局", "市场监管局", "市监局", "市场监管所", "工商局", "质监局", "食药监局"),
    "agriculture": ("农业农村厅", "农业农村局", "农业局", "农牧局", "农经站", "农业部门"),
    "sasac": ("国资委", "国有资产监督管理委员会"),
    "culture_tourism": ("文化和旅游厅", "文化和旅游局", "文旅厅", "文旅局", "文广旅局", "旅游局", "文物局", "体育局"),
    "medical_security": ("医疗保障局", "医保局", "医保中心", "医保部门"),
    "water_resources": ("水利厅", "水利局", "水务局", "河长办", "水利部门"),
    "emergency": ("应急管理厅", "应急管理局", "应急局", "安监局", "安全生产监督管理局"),
    "justice": ("司法厅", "司法局", "司法所", "法律援助中心", "公证处"),
}
MASK = "相关部门"


@lru_cache(maxsize=1)
def _pattern() -> tuple[re.Pattern, dict[str, str]]:
    department_of = {name: d for d, names in AGENCY_NAMES.items() for name in names}
    names = sorted(department_of, key=len, reverse=True)  # longest first: 人社局 before 人社
    return re.compile("|".join(map(re.escape, names))), department_of


def named_departments(text: str) -> set[str]:
    """The departments whose agency the text names."""
    pattern, department_of = _pattern()
    return {department_of[m.group(0)] for m in pattern.finditer(text)}


def mask_agency_names(text: str, keep: float = 0.0, rng=None) -> str:
    """Every agency name replaced by 相关部门 (each kept with probability `keep`, drawn from `rng`)."""
    pattern, _ = _pattern()
    if keep <= 0 or rng is None:
        return pattern.sub(MASK, text)
    return pattern.sub(lambda m: m.group(0) if rng.random() < keep else MASK, text)
