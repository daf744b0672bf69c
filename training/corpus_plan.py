"""Writing plans: the labels and writing conditions of every record, drawn before its text is written.

A plan is a JSONL file of slots. Each slot fixes a record's labels (type, department, risk and
reasons), channel, writer, target length, whether and which agency the writer names, the
writer's circumstances and the surface habits its text shows (typos, ASCII punctuation, a title
running into the body...). A writer then writes one text per slot, for those labels; `merge_plan`
joins plan and texts into corpus records. Drawing the labels first keeps the label mix where the
real-text profile puts it (../shared/docs/REAL_TEXT_PROFILE.md) and keeps writers from drifting
to the departments and styles they find easy.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from petition_triage.model.taxonomy import Taxonomy, load_taxonomy

from .text_profile import REAL_PROFILE

# Label mix of 300 real web-portal messages labelled by the guide (REAL_TEXT_PROFILE.md).
# emergency and justice were not seen among the 300; they keep a small share so every class is tested.
REAL_DEPARTMENT_MIX = {
    "housing": 18, "hrss": 17, "education": 13, "health": 12, "ecology": 10, "transport": 8,
    "culture_tourism": 5, "market_regulation": 4, "medical_security": 3, "natural_resources": 3,
    "sasac": 2, "other": 2, "public_security": 2, "agriculture": 1, "water_resources": 1,
    "civil_affairs": 1, "veterans": 1, "emergency": 0.5, "justice": 0.5,
}
REAL_TYPE_MIX = {"demand": 76, "inquiry": 14, "suggestion": 10}
# Risk given type, chosen so that the marginal is the real one (normal 65%, elevated 33%, high 2-3%).
REAL_RISK_GIVEN_TYPE = {
    "demand": {"normal": 56, "elevated": 40, "high": 4},
    "inquiry": {"normal": 85, "elevated": 15, "high": 0},
    "suggestion": {"normal": 95, "elevated": 5, "high": 0},
}
# Reason codes on real messages, most frequent first (REAL_TEXT_PROFILE.md), as rough weights.
ELEVATED_REASONS = {
    "repeat": 30, "long_unresolved": 26, "public_safety": 12, "collective_action": 10,
    "vulnerable_group": 9, "wage_arrears": 7, "media_exposure": 4, "escalation_threat": 2,
}
HIGH_REASONS = {"public_safety": 35, "collective_action": 25, "self_harm": 22, "violence": 18}
WAGE_DEPARTMENTS = {"hrss", "sasac", "housing", "transport", "agriculture", "other"}

CHANNEL_MIX = {"web": 45, "hotline": 20, "wechat": 13, "mailbox": 12, "letter": 10}
# Median length per channel, relative to the real web-portal median of 242 characters.
CHANNEL_LENGTH = {"web": 1.15, "mailbox": 1.4, "letter": 1.5, "hotline": 0.85, "wechat": 0.5}
CHANNEL_MAX_LENGTH = {"web": 4200, "mailbox": 4200, "letter": 4200, "hotline": 900, "wechat": 700}
REAL_MEDIAN_LENGTH = REAL_PROFILE["length_p50"]
LENGTH_SIGMA = 1.0  # log-normal spread giving p90 near 1,000 characters, as on real messages

# Where a real writer names an agency (38%), it is the responsible one 77% of the time; otherwise the
# office already tried, a higher one, or the wrong one. The confusions seen on real text come first.
AGENCY_NAMED = 0.38
AGENCY_RESPONSIBLE = 0.77
CONFUSABLE = {
    "health": ["civil_affairs", "medical_security"], "hrss": ["sasac", "market_regulation"],
    "sasac": ["hrss"], "transport": ["public_security", "housing"],
    "housing": ["natural_resources", "transport", "ecology", "market_regulation"],
    "medical_security": ["hrss", "health"], "natural_resources": ["housing", "agriculture"],
    "agriculture": ["natural_resources", "water_resources"], "ecology": ["housing", "water_resources"],
    "education": ["hrss", "market_regulation"], "market_regulation": ["housing", "health"],
    "culture_tourism": ["market_regulation", "transport"], "civil_affairs": ["health", "hrss"],
    "veterans": ["hrss", "civil_affairs"], "public_security": ["justice", "transport"],
    "water_resources": ["agriculture", "ecology"], "emergency": ["housing", "market_regulation"],
    "justice": ["public_security", "civil_affairs"], "other": ["housing", "public_security"],
}
OTHER_OFFICES = ["街道办事处", "区政府", "市政府", "乡镇政府", "12345热线", "信访局", "社区居委会", "市长信箱"]

SURFACE_HABITS = {
    "typos or homophones (肯请、崔促、在/再、的/得 mixed up)": 0.30,
    "ASCII punctuation mixed in (, ! ? ;)": 0.13,
    "repeated ！！ or ？？": 0.08,
    "no paragraphs, one long run-on block": 0.35,
    "several matters tangled in one message": 0.20,
    "quotes a policy document or an article number": 0.10,
    "appeals to a named leader (fictional name)": 0.07,
    "opens with 尊敬的…": 0.16,
    "ends with 此致敬礼": 0.02,
    "a long self-history first, the request buried at the end": 0.15,
}
TITLE_INTO_BODY = 0.35  # web posts whose title runs straight into the body

PERSONAS = [
    "退休教师，70岁，用词讲究，爱引政策", "外卖骑手，28岁，手机打字快、标点随意", "农村老人，由子女代写，口语重",
    "工厂工人，40岁，文化不高，错别字多", "宝妈，33岁，情绪激动，爱用感叹号", "个体店主，50岁，算账清楚、数字多",
    "大学生，21岁，条理清楚，偶尔网络用语", "退伍军人，55岁，说话直，讲原则", "进城务工人员，36岁，方言词多",
    "公司白领，30岁，写得像邮件", "小区业主代表，45岁，代表多户，列清单", "残疾人家属，60岁，诉苦多、反复说",
    "出租车司机，48岁，粗话边缘、火气大", "乡村教师，38岁，书面但拘谨", "医院患者家属，42岁，焦急，时间线详细",
    "返乡创业青年，29岁，爱提建议", "退休工程师，66岁，技术细节多", "菜市场摊贩，52岁，句子短、口头禅多",
    "在外地打工的子女，为老家父母写，34岁", "个体货车司机，44岁，说话冲", "社区志愿者，58岁，热心公益",
    "国企下岗职工，57岁，历史遗留问题讲得很长", "刚毕业求职者，23岁，问得很细", "农民合作社负责人，47岁，懂政策",
    "家长群代表，39岁，代表几十个家长", "老上访户，62岁，反复多年、材料很多", "外地游客，35岁，一次经历",
    "护士，31岁，用专业词", "小微企业老板，41岁，讲损失和合同", "聋哑人亲属代写，50岁，简短",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢"
GIVEN = ["建国", "秀兰", "志强", "丽娟", "海燕", "国庆", "桂芳", "小军", "红梅", "文杰", "春生", "玉珍", "晓东",
         "淑华", "永福", "德明", "美玲", "子涵", "浩然", "雨萱", "振华", "翠花", "金山", "凤英", "宏伟", "佳怡"]
REGIONS = [
    ("青海省", "西宁市", ["城东区", "城中区", "城西区", "城北区", "湟中区", "大通县"]),
    ("青海省", "海东市", ["乐都区", "平安区", "互助县", "民和县"]),
    ("青海省", "格尔木市", [None]), ("青海省", "海西州", ["德令哈市", "都兰县"]),
    ("甘肃省", "兰州市", ["城关区", "七里河区", "安宁区", "榆中县"]), ("甘肃省", "天水市", ["秦州区", "麦积区"]),
    ("河南省", "郑州市", ["金水区", "二七区", "中原区", "新郑市"]), ("河南省", "洛阳市", ["涧西区", "洛龙区", "偃师区"]),
    ("湖南省", "长沙市", ["岳麓区", "雨花区", "望城区", "浏阳市"]), ("湖南省", "衡阳市", ["蒸湘区", "衡南县"]),
    ("四川省", "成都市", ["武侯区", "郫都区", "新都区", "双流区"]), ("四川省", "南充市", ["顺庆区", "阆中市"]),
    ("广东省", "佛山市", ["南海区", "顺德区"]), ("广东省", "东莞市", [None]),
    ("山东省", "临沂市", ["兰山区", "沂水县"]), ("河北省", "保定市", ["莲池区", "涿州市"]),
    ("安徽省", "合肥市", ["蜀山区", "肥西县"]), ("江西省", "赣州市", ["章贡区", "于都县"]),
    ("陕西省", "咸阳市", ["秦都区", "兴平市"]), ("广西壮族自治区", "南宁市", ["青秀区", "武鸣区"]),
]


@dataclass
class PlanConfig:
    """What a plan draws: how many slots, for which writers, from which label mix."""

    records: int
    writers: list[str]
    id_prefix: str
    seed: int = 0
    department_mix: dict[str, float] = field(default_factory=lambda: dict(REAL_DEPARTMENT_MIX))
    type_mix: dict[str, float] = field(default_factory=lambda: dict(REAL_TYPE_MIX))
    risk_given_type: dict[str, dict[str, float]] = field(default_factory=lambda: dict(REAL_RISK_GIVEN_TYPE))
    start: datetime = datetime(2025, 1, 1, 8, 0)
    days: int = 640
    # Writers dealt in turn within each department, so each writes an equal share of every department
    # (False: in turn over the whole plan, as the first v2 and shift plans were drawn).
    deal_per_department: bool = True
    agency_responsible: float = AGENCY_RESPONSIBLE
    generic_office_share: float = 0.5  # of agencies named that are not the responsible one
    min_length: int = 0  # draw only letters at least this long (a top-up of the long tail)


def flattened_mix(mix: dict[str, float], uniform_share: float) -> dict[str, float]:
    """The mix moved `uniform_share` of the way towards uniform (training wants every class seen often)."""
    total = sum(mix.values())
    return {k: (1 - uniform_share) * v / total + uniform_share / len(mix) for k, v in mix.items()}


def _weighted(rng: random.Random, mix: dict[str, float]) -> str:
    keys = list(mix)
    return rng.choices(keys, weights=[mix[k] for k in keys])[0]


def _apportion(mix: dict[str, float], n: int) -> list[str]:
    """Exactly n labels in the mix's proportions (largest remainders), so small classes are not lost to chance."""
    total = sum(mix.values())
    quotas = {k: n * v / total for k, v in mix.items()}
    counts = {k: int(q) for k, q in quotas.items()}
    for k in sorted(quotas, key=lambda k: quotas[k] - counts[k], reverse=True)[: n - sum(counts.values())]:
        counts[k] += 1
    return [k for k, c in counts.items() for _ in range(c)]


def _reasons(rng: random.Random, risk: str, department: str) -> list[str]:
    if risk == "normal":
        return []
    pool = dict(HIGH_REASONS if risk == "high" else ELEVATED_REASONS)
    if department not in WAGE_DEPARTMENTS:
        pool.pop("wage_arrears", None)
    first = _weighted(rng, pool)
    extra = {k: v for k, v in ELEVATED_REASONS.items() if k != first
             and (k != "wage_arrears" or department in WAGE_DEPARTMENTS)}
    reasons = [first]
    for _ in range(rng.choices([0, 1, 2], weights=[50, 35, 15])[0]):
        reasons.append(_weighted(rng, extra))
        extra.pop(reasons[-1])
    return sorted(set(reasons))


def _length_target(rng: random.Random, channel: str, min_length: int = 0) -> int:
    median = REAL_MEDIAN_LENGTH * CHANNEL_LENGTH[channel]
    while True:  # the log-normal tail above min_length, by rejection
        length = int(max(50, min(CHANNEL_MAX_LENGTH[channel], math.exp(rng.gauss(math.log(median), LENGTH_SIGMA)))))
        if length >= min_length:
            return length


def _agency(rng: random.Random, department: str, taxonomy: Taxonomy, config: PlanConfig) -> dict:
    names = {label.code: label.name_zh for label in taxonomy.departments}
    if rng.random() >= AGENCY_NAMED or department == "other" and rng.random() < 0.5:
        return {"kind": "none"}
    if rng.random() < config.agency_responsible and department != "other":
        return {"kind": "responsible", "agency": names[department]}
    if rng.random() < 1 - config.generic_office_share:
        wrong = rng.choice(CONFUSABLE[department])
        return {"kind": "not_responsible", "agency": names[wrong]}
    return {"kind": "not_responsible", "agency": rng.choice(OTHER_OFFICES)}


def _submitter(rng: random.Random) -> dict:
    surname = rng.choice(SURNAMES)
    style = rng.random()
    name = (None if style < 0.25 else surname + rng.choice(["先生", "女士"]) if style < 0.5
            else surname + rng.choice(GIVEN))
    phone = (f"1{rng.choice('3578')}{rng.randint(0, 9)}0000{rng.randint(0, 9999):04d}"
             if rng.random() < 0.6 else None)
    return {"name": name, "phone": phone, "id_number": None}


def draw_plan(config: PlanConfig, taxonomy: Taxonomy | None = None) -> list[dict]:
    """One slot per record to write; every label is fixed here, before any text exists."""
    taxonomy = taxonomy or load_taxonomy()
    rng = random.Random(config.seed)
    departments = _apportion(config.department_mix, config.records)
    types = _apportion(config.type_mix, config.records)
    rng.shuffle(departments)
    rng.shuffle(types)
    slots = []
    dealt: Counter = Counter()
    offsets = {d: n for n, d in enumerate(sorted(config.department_mix))}
    for i, (department, type_) in enumerate(zip(departments, types)):
        # Each department's dealing starts at another writer, so the remainders do not all fall to the first.
        turn = dealt[department] + offsets[department] if config.deal_per_department else i
        dealt[department] += 1
        risk = _weighted(rng, config.risk_given_type[type_])
        channel = _weighted(rng, {c: w for c, w in CHANNEL_MIX.items() if CHANNEL_MAX_LENGTH[c] >= config.min_length})
        province, city, counties = rng.choice(REGIONS)
        habits = [h for h, p in SURFACE_HABITS.items() if rng.random() < p]
        if channel == "web" and rng.random() < TITLE_INTO_BODY:
            habits.append("the title runs straight into the body (the body starts as if continuing the title)")
        slots.append({
            "id": f"{config.id_prefix}-{i + 1:04d}",
            # Writers take slots in turn, so each writes every department in the plan's mix.
            "writer": config.writers[turn % len(config.writers)],
            "channel": channel,
            "labels": {"type": type_, "department": department, "risk": risk,
                       "risk_reasons": _reasons(rng, risk, department)},
            "length_target": _length_target(rng, channel, config.min_length),
            "agency_mention": _agency(rng, department, taxonomy, config),
            "persona": rng.choice(PERSONAS),
            "habits": habits,
            "anonymised_mou": rng.random() < 0.04,  # 某 in place of a name: 3-5% of real messages
            "region": {"province": province, "city": city, "county": rng.choice(counties)},
            "submitter": _submitter(rng),
            "submitted_at": (config.start + timedelta(minutes=rng.randint(0, config.days * 24 * 60)))
            .strftime("%Y-%m-%dT%H:%M:00+08:00"),
        })
    return slots


def write_plan(path: Path, slots: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in slots), encoding="utf-8")


PLAN_ONLY_FIELDS = ("length_target", "agency_mention", "persona", "habits", "anonymised_mou")


def merge_plan(slots: list[dict], texts: list[dict], writer: str | None = None) -> tuple[list[dict], list[str]]:
    """Corpus records from a plan and the texts written for it (`{"id", "title", "text"}` per line).

    `writer` is who wrote these texts, where another writer than the slot's took it over. A slot
    without a text is left out; a text without a slot is an error.
    """
    by_id = {s["id"]: s for s in slots}
    records, errors = [], []
    for written in texts:
        slot = by_id.get(written.get("id"))
        if slot is None:
            errors.append(f"text {written.get('id')!r} has no slot in the plan")
            continue
        record = {k: v for k, v in slot.items() if k not in PLAN_ONLY_FIELDS}
        record["writer"] = writer or slot["writer"]
        record |= {"title": written.get("title") or None, "text": written["text"],
                   "region": written.get("region") or slot["region"],
                   "duplicate_group": None, "related": [], "hard_case": written.get("hard_case")}
        records.append(record)
    return records, errors


def dilution_mix(slots: list[dict], max_share: float) -> dict[str, float]:
    """Records per department a further plan needs, written by other writers, so that no writer of
    `slots` keeps more than `max_share` of any department."""
    per_writer = Counter((s["labels"]["department"], s["writer"]) for s in slots)
    per_department = Counter(s["labels"]["department"] for s in slots)
    needed = {}
    for department, n in per_department.items():
        largest = max(c for (d, _), c in per_writer.items() if d == department)
        needed[department] = max(0.0, math.ceil(largest / max_share) - n)
    return needed


V2_TYPE_MIX = {"demand": 65, "inquiry": 20, "suggestion": 15}
V2_RISK_GIVEN_TYPE = {"demand": {"normal": 52, "elevated": 40, "high": 8},
                      "inquiry": {"normal": 85, "elevated": 15, "high": 0},
                      "suggestion": {"normal": 95, "elevated": 5, "high": 0}}


def preset(name: str, plans_dir: Path | None = None) -> PlanConfig:
    """The configurations the committed plans in data_samples/plans/ were drawn with."""
    if name == "shift":  # the real label mix, writers of no training record
        return PlanConfig(records=840, writers=["s1", "s2", "s3"], id_prefix="sh", seed=2112, deal_per_department=False)
    if name == "shift-long":
        # The shift set as first written had 5.5% of letters over 1,000 characters (real: 10.2%) and a
        # 90th-percentile length just under 800: a top-up of long letters, by a writer of no training record.
        return PlanConfig(records=60, writers=["s4"], id_prefix="shl", seed=2115, min_length=1000)
    if name == "v2":  # training: half-way between the real mix and uniform, so small departments are learned
        return PlanConfig(records=3000, writers=["w09", "w10", "w11", "w12", "w13"], id_prefix="v2", seed=2113,
                          deal_per_department=False, department_mix=flattened_mix(REAL_DEPARTMENT_MIX, 0.5),
                          type_mix=V2_TYPE_MIX, risk_given_type=V2_RISK_GIVEN_TYPE)
    if name == "v2b":
        # More writers, each dealt every department evenly, where v2's writers were most concentrated;
        # more agencies named that are not the responsible one, so that a single named agency is the
        # responsible one about as often as in real messages (77%) over v2 and v2b together.
        v2 = [json.loads(line) for line in (plans_dir / "v2.jsonl").read_text(encoding="utf-8").splitlines()]
        mix = dilution_mix(v2, max_share=0.14)
        return PlanConfig(records=int(sum(mix.values())), writers=[f"w{i}" for i in range(14, 22)], id_prefix="v2b",
                          seed=2114, department_mix=mix, type_mix=V2_TYPE_MIX, risk_given_type=V2_RISK_GIVEN_TYPE,
                          agency_responsible=0.55, generic_office_share=0.25)
    raise ValueError(f"unknown plan preset {name!r}; choose shift, shift-long, v2 or v2b")
