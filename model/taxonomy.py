"""The label sets: request types, departments, risk levels and reason codes.

The shipped default (`taxonomy/default.json`) mirrors docs/ANNOTATION_GUIDE.md; a deployment
with its own departments passes its own file, and nothing else changes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TAXONOMY_FILE = Path(__file__).parent / "taxonomy" / "default.json"
HEADS = ("type", "department", "risk")


@dataclass(frozen=True)
class Label:
    code: str
    name_zh: str
    description: str = ""
    cues: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    types: tuple[Label, ...]
    departments: tuple[Label, ...]
    risk_levels: tuple[Label, ...]
    risk_reasons: tuple[Label, ...]
    source: str = field(default="", compare=False)

    def codes(self, head: str) -> list[str]:
        groups = {"type": self.types, "department": self.departments, "risk": self.risk_levels}
        return [label.code for label in groups[head]]

    @property
    def reason_codes(self) -> list[str]:
        return [label.code for label in self.risk_reasons]

    def to_dict(self) -> dict:
        def dump(labels: tuple[Label, ...]) -> list[dict]:
            return [{"code": l.code, "name_zh": l.name_zh, "description": l.description, "cues": list(l.cues)}
                    for l in labels]

        return {"types": dump(self.types), "departments": dump(self.departments),
                "risk_levels": dump(self.risk_levels), "risk_reasons": dump(self.risk_reasons)}

    @classmethod
    def from_dict(cls, data: dict, source: str = "") -> "Taxonomy":
        def load(key: str) -> tuple[Label, ...]:
            if not data.get(key):
                raise ValueError(f"taxonomy {source or ''} has no {key!r}")
            labels = tuple(Label(d["code"], d.get("name_zh", d["code"]), d.get("description", ""),
                                 tuple(d.get("cues", ()))) for d in data[key])
            codes = [l.code for l in labels]
            if len(set(codes)) != len(codes):
                raise ValueError(f"taxonomy {source}: duplicate codes in {key}")
            return labels

        return cls(load("types"), load("departments"), load("risk_levels"), load("risk_reasons"), source)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    path = Path(path) if path else DEFAULT_TAXONOMY_FILE
    return Taxonomy.from_dict(json.loads(path.read_text(encoding="utf-8")), source=str(path))


def parse_annotation_guide(markdown: str) -> Taxonomy:
    """Reads the label tables of the annotation guide (the source of truth for the default)."""

    def table_after(heading: str, first_column: str) -> list[list[str]]:
        section = markdown[markdown.index(heading):]
        rows, seen = [], False
        for line in section.splitlines():
            if line.startswith("|"):
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if cells[0] == first_column:
                    seen = True
                    continue
                if seen and not set(cells[0]) <= {"-", ":"}:
                    rows.append(cells)
            elif seen and rows:
                break
        return rows

    def cues(cell: str) -> tuple[str, ...]:
        return tuple(c for c in re.split(r"[、，,]\s*", cell.replace("…", "")) if c)

    strip = lambda s: s.strip("`")  # noqa: E731
    types = tuple(Label(strip(r[0]), r[1], r[2], cues(r[3])) for r in table_after("## 1. Type", "code"))
    departments = tuple(Label(strip(r[0]), r[1], r[2]) for r in table_after("## 2. Department", "code"))
    levels = tuple(Label(strip(r[0]), r[1], r[2]) for r in table_after("## 3. Escalation risk", "level"))
    reasons = tuple(Label(strip(r[0]), r[1], "", cues(r[2])) for r in table_after("| reason code", "reason code"))
    return Taxonomy(types, departments, levels, reasons, source="ANNOTATION_GUIDE.md")
