"""Routing to the office that acts (事权单位): a versioned rule table and a deterministic engine.

A rule maps (department, a region given as a division-code prefix, optional keywords, optional
channels) to a receiving office. The matching rule with the highest priority wins; ties go to the
more specific region, then to the rule with keywords, then to the lower rule id, so the same case
always routes the same way. `check` reports rules that conflict (same conditions and priority,
different offices) and rules that can never fire (a rule with the same conditions and a higher
priority always wins). When the department head is split between two departments, or no rule
matches, the case goes to the human dispatcher with the options shown.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

from petition_triage.places import Place

DEFAULT_TABLE = Path(__file__).parent.parent / "policy" / "routing_table.json"
# Top-1 minus top-2 department probability under which the department is called split.
SPLIT_MARGIN = 0.15


@dataclass(frozen=True)
class Rule:
    id: str
    department: str
    office: str
    region: str = ""  # division-code prefix: "63" Qinghai, "6301" Xining, "630102" Chengdong; "" anywhere
    priority: int = 0
    keywords: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    def matches(self, department: str, code: str | None, text: str, channel: str | None) -> bool:
        return (self.department == department and (not self.region or (code or "").startswith(self.region))
                and (not self.keywords or any(k in text for k in self.keywords))
                and (not self.channels or channel in self.channels))

    def rank(self) -> tuple:
        return (self.priority, len(self.region), bool(self.keywords), bool(self.channels))

    def conditions(self) -> tuple:
        return (self.department, self.region, tuple(sorted(self.keywords)), tuple(sorted(self.channels)))


@dataclass
class RouteOption:
    office: str
    department: str
    rule: str | None


@dataclass
class Route:
    office: str
    department: str | None
    region_code: str | None
    rule: str | None  # the rule that fired; None when the dispatcher decides
    confidence: float
    reason: str
    options: list[RouteOption] = field(default_factory=list)


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number")


def _text(raw: dict, key: str, where: str, required: bool = True) -> str:
    value = raw.get(key, None if required else "")
    if isinstance(value, int) and not isinstance(value, bool) and key in ("id", "region"):
        value = str(value)  # an id or a division code written as a number
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(f"{where}: {key} must be {'a non-empty' if required else 'a'} string, not {_kind(value)}")
    return value


def _texts(raw: dict, key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{where}: {key} must be a list of non-empty strings")
    return tuple(value)


def _rule(raw, n: int) -> Rule:
    if not isinstance(raw, dict):
        raise ValueError(f"rule {n + 1}: a rule is an object, not {_kind(raw)}")
    where = f"rule {raw.get('id', n + 1)!r}"
    priority = raw.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ValueError(f"{where}: priority must be a whole number, not {_kind(priority)}")
    return Rule(id=_text(raw, "id", where), department=_text(raw, "department", where),
                office=_text(raw, "office", where), region=_text(raw, "region", where, required=False),
                priority=priority, keywords=_texts(raw, "keywords", where), channels=_texts(raw, "channels", where))


@dataclass
class RoutingTable:
    version: str
    dispatcher: str  # the human dispatch desk (人工分办)
    rules: list[Rule]

    @classmethod
    def load(cls, path: Path | None = None) -> "RoutingTable":
        return cls.from_dict(json.loads(Path(path or DEFAULT_TABLE).read_text(encoding="utf-8")))

    @classmethod
    def from_dict(cls, data: dict) -> "RoutingTable":
        """A table from its JSON form; ValueError naming the first thing of the wrong shape or type."""
        if not isinstance(data, dict):
            raise ValueError(f"a routing table is an object with version, dispatcher and rules, not {_kind(data)}")
        version, dispatcher, raw_rules = data.get("version"), data.get("dispatcher"), data.get("rules")
        if not isinstance(version, (str, int)) or isinstance(version, bool) or not str(version).strip():
            raise ValueError("version must be a non-empty string")
        if not isinstance(dispatcher, str) or not dispatcher.strip():
            raise ValueError(f"dispatcher must be the name of the dispatch desk (a string), not {_kind(dispatcher)}")
        if not isinstance(raw_rules, list):
            raise ValueError(f"rules must be a list of rules, not {_kind(raw_rules)}")
        rules = [_rule(raw, n) for n, raw in enumerate(raw_rules)]
        ids = [r.id for r in rules]
        if len(ids) != len(set(ids)):
            raise ValueError("rule ids must be unique")
        return cls(version=str(version), dispatcher=dispatcher, rules=rules)

    def to_dict(self) -> dict:
        return {"version": self.version, "dispatcher": self.dispatcher,
                "rules": [{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(r).items()} for r in self.rules]}

    @property
    def offices(self) -> set[str]:
        return {r.office for r in self.rules} | {self.dispatcher}

    def check(self) -> list[str]:
        """Problems: conflicting rules and rules that can never fire."""
        problems = []
        by_conditions: dict[tuple, list[Rule]] = {}
        for rule in self.rules:
            if rule.region and not rule.region.isdigit():
                problems.append(f"rule {rule.id}: region {rule.region!r} is not a division-code prefix")
            by_conditions.setdefault(rule.conditions(), []).append(rule)
        for rules in by_conditions.values():
            if len(rules) < 2:
                continue
            top = max(r.priority for r in rules)
            winners = [r for r in rules if r.priority == top]
            if len({r.office for r in winners}) > 1:
                problems.append("conflict: rules " + ", ".join(r.id for r in winners) + " have the same conditions "
                                "and priority but different offices")
            for rule in rules:
                if rule.priority < top:
                    problems.append(f"rule {rule.id} can never fire: rule {winners[0].id} has the same conditions "
                                    f"and a higher priority")
        return problems

    @cached_property
    def routing_failure(self) -> str | None:
        """Why this table cannot route, or None: one submission is routed through each rule as a case would
        be (its department, region, keywords and channel), and through no rule; /readyz reports it."""
        probes = [([(r.department, 1.0)], Place(code=r.region or None), " ".join(r.keywords),
                   r.channels[0] if r.channels else None) for r in self.rules]
        try:
            for departments, place, text, channel in [([], Place(), "", None), *probes]:
                route = self.route(departments, place, text, channel)
                if route.office is not None and not isinstance(route.office, str):
                    return f"office {route.office!r} is not a name"
        except Exception as exc:  # whatever a malformed table raises is the reason it is not ready
            return f"{type(exc).__name__}: {exc}"
        return None

    def _best(self, department: str, place: Place, text: str, channel: str | None) -> Rule | None:
        matching = [r for r in self.rules if r.matches(department, place.code, text, channel)]
        return max(matching, key=lambda r: (r.rank(), [-ord(c) for c in r.id]), default=None)

    def route(self, departments: list[tuple[str, float]], place: Place, text: str, channel: str | None) -> Route:
        """`departments`: the department head's top labels with probabilities, best first."""
        if not departments:
            return Route(self.dispatcher, None, place.code, None, 0.0, "no department predicted")
        (top, p_top), rest = departments[0], departments[1:]
        if rest and p_top - rest[0][1] < SPLIT_MARGIN:
            options = []
            for department, _ in departments[:2]:
                rule = self._best(department, place, text, channel)
                options.append(RouteOption(rule.office if rule else self.dispatcher, department, rule.id if rule else None))
            return Route(self.dispatcher, None, place.code, None, round(p_top, 4),
                         f"department split between {departments[0][0]} ({p_top:.2f}) and {rest[0][0]} "
                         f"({rest[0][1]:.2f})", options)
        rule = self._best(top, place, text, channel)
        if rule is None:
            return Route(self.dispatcher, top, place.code, None, round(p_top, 4), f"no rule routes {top} here")
        where = "the place is unknown" if place.code is None else f"place {place.code}"
        scope = "region-specific" if rule.region and place.code else "fallback"
        return Route(rule.office, top, place.code, rule.id, round(p_top, 4), f"{scope} rule for {top}; {where}")
