"""The administrative place a submission is about, normalised to a division code, and the named
objects (小区、学校、医院、道路、企业) the matter concerns.

Place names are parsed by jionlp's location parser (its division list carries the codes); the
region a channel reports (a work order's address fields, a form's region) fills what the text does
not say, and wins where the two disagree, since the channel's region was entered by a person.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache

logger = logging.getLogger(__name__)

LEVELS = ("province", "city", "county")
# Named objects end in one of these words; their names run back to a place word or punctuation.
_OBJECT_END = re.compile(r"小区|花园|家园|学校|小学|中学|幼儿园|大学|医院|卫生院|诊所|大道|公路|国道|高速|路|街(?!道)|桥|"
                         r"公司|工厂|厂|超市|商场|市场|酒店|工地|项目|景区|公园|车站")
_NAME_CHAR = re.compile(r"[\u4e00-\u9fa5A-Za-z0-9]")
_NAME_STOP = set("区县镇乡村市道的在里了和与及是")
_NOT_AN_OBJECT = re.compile(r"^(?:某|这个|那个|这家|那家|一个|一家|一座|那座|我们|他们|附近的?)")


def named_objects(text: str, limit: int = 8) -> list[str]:
    names: list[str] = []
    for match in _OBJECT_END.finditer(text):
        start = match.start()
        while start > 0 and match.start() - start < 10 and _NAME_CHAR.match(text[start - 1]) \
                and text[start - 1] not in _NAME_STOP:
            start -= 1
        name = _NOT_AN_OBJECT.sub("", text[start:match.end()])
        if len(name) >= 3:
            names = [n for n in names if not name.startswith(n)]  # 幸福家园 -> 幸福家园小区
            if name not in names:
                names.append(name)
    return names[:limit]

@dataclass
class Place:
    province: str | None = None
    city: str | None = None
    county: str | None = None
    town: str | None = None
    code: str | None = None  # the most specific division code known (6 digits)
    source: str = "none"  # text, channel, text+channel or none
    objects: list[str] = field(default_factory=list)

    @property
    def level(self) -> str | None:
        return next((lv for lv in ("county", "city", "province") if getattr(self, lv)), None)


@lru_cache(maxsize=1)
def _divisions() -> dict:
    with contextlib.redirect_stdout(io.StringIO()):  # jionlp prints a banner on import
        import jionlp

        return jionlp.china_location_loader()


def _parse(text: str) -> dict:
    import jionlp

    with contextlib.redirect_stdout(io.StringIO()):
        try:
            return jionlp.parse_location(text, town_village=True, change2new=True)
        except Exception:  # the parser gives up on some inputs; then the text names no place
            logger.debug("jionlp could not parse a location", exc_info=True)
            return {}


def division_code(province: str | None, city: str | None, county: str | None) -> str | None:
    node, code = _divisions(), None
    for name in (province, city, county):
        if not name or name not in node:
            break
        node = node[name]
        code = node.get("_admin_code", code)
    return code


def _from_parse(parsed: dict) -> dict:
    return {level: parsed.get(level) for level in (*LEVELS, "town")}


def _consistent(a: dict, b: dict) -> bool:
    return all(a[lv] is None or b[lv] is None or a[lv] == b[lv] for lv in LEVELS)


def extract_place(text: str, reported_region: str | None = None) -> Place:
    """The place of a submission from its text and the region its channel reported."""
    # The opening of a letter names the place far more often than the rest; parsing sentence by sentence
    # avoids picking a place from an unrelated clause, and the first sentence naming one is kept.
    from_text = {level: None for level in (*LEVELS, "town")}
    for sentence in re.split(r"[。！？\n]", text)[:12]:
        if not sentence.strip():
            continue
        parsed = _from_parse(_parse(sentence))
        if parsed["county"] or parsed["city"]:
            from_text = parsed
            break
    from_channel = _from_parse(_parse(reported_region)) if reported_region else {lv: None for lv in (*LEVELS, "town")}
    if any(from_channel[lv] for lv in LEVELS):
        if _consistent(from_text, from_channel):
            merged = {lv: from_channel[lv] or from_text[lv] for lv in (*LEVELS, "town")}
            source = "text+channel" if any(from_text[lv] for lv in LEVELS) else "channel"
        else:
            merged, source = from_channel, "channel"
    elif any(from_text[lv] for lv in LEVELS):
        merged, source = from_text, "text"
    else:
        merged, source = from_text, "none"
    return Place(province=merged["province"], city=merged["city"], county=merged["county"], town=merged["town"],
                 code=division_code(merged["province"], merged["city"], merged["county"]), source=source,
                 objects=named_objects(text))


def code_relation(a: str | None, b: str | None) -> str:
    """Whether two division codes name the same county (`same`), places that cannot be the same
    (`differs`: other counties, or other cities or provinces where one code is coarser), or
    `unknown` when either is missing or one contains the other (城中区 and 西宁市)."""
    if not a or not b:
        return "unknown"
    # 630102: province 63, city 6301, county 630102; a city's code ends in 00, a province's in 0000.
    depth = min(_code_depth(a), _code_depth(b))
    if a[: 2 * depth] != b[: 2 * depth]:
        return "differs"
    return "same" if depth == 3 and a == b else "unknown"


def _code_depth(code: str) -> int:
    return 1 if code[2:6] == "0000" else 2 if code[4:6] == "00" else 3
