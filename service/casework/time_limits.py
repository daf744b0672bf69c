"""Deadlines: a policy file of limits per stage, in calendar or working days.

Working days follow the State Council's holiday arrangement through `chinese-calendar`: public
holidays are skipped and adjusted working weekends (调休) count. For a year the package has no data
for yet, Monday to Friday is used and a warning logged, so deadlines never fail outright.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar

logger = logging.getLogger(__name__)

DEFAULT_POLICY = Path(__file__).parent.parent / "policy" / "time_limits.json"
# Deadlines run on Beijing time: a case filed at 23:00 UTC is filed the next morning there.
CHINA = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Limit:
    days: int
    unit: str  # "calendar" or "working"
    start: str  # the stage whose entry starts the clock
    what: str = ""


@dataclass
class TimeLimitPolicy:
    stages: dict[str, Limit]
    first_response: Limit | None
    first_response_channels: frozenset[str]
    first_response_departments: dict[str, int]
    extension_max_days: int
    extension_times: int
    extension_stages: frozenset[str]
    due_soon_days: int
    source: str = field(default="")

    @classmethod
    def load(cls, path: Path | None = None) -> "TimeLimitPolicy":
        raw = json.loads(Path(path or DEFAULT_POLICY).read_text(encoding="utf-8"))
        stages = {}
        for stage, spec in raw["stages"].items():
            if spec["unit"] not in ("calendar", "working") or int(spec["days"]) < 1:
                raise ValueError(f"time limit for {stage!r}: unit must be calendar or working and days at least 1")
            stages[stage] = Limit(int(spec["days"]), spec["unit"], spec.get("from", stage), spec.get("what", ""))
        first = raw.get("first_response")
        extension = raw.get("extension", {})
        return cls(
            stages=stages,
            first_response=Limit(int(first["days"]), first["unit"], "registered", "first response") if first else None,
            first_response_channels=frozenset(first.get("channels", [])) if first else frozenset(),
            first_response_departments={k: int(v) for k, v in (first or {}).get("departments", {}).items()},
            extension_max_days=int(extension.get("max_days", 0)), extension_times=int(extension.get("times", 0)),
            extension_stages=frozenset(extension.get("stages", [])), due_soon_days=int(raw.get("due_soon_days", 3)),
            source=raw.get("_source", ""))


@lru_cache(maxsize=4096)
def is_working_day(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        logger.warning("chinese-calendar has no holiday data for %d: counting Monday to Friday", day.year)
        return day.weekday() < 5


def add_days(start: datetime, days: int, unit: str) -> datetime:
    """The end of the day on which a limit of `days` from `start` runs out (Beijing time), in UTC.

    Working days count from the next working day, as offices count them: a case filed on Friday
    evening with 3 working days is due at the end of Wednesday.
    """
    local = (start if start.tzinfo else start.replace(tzinfo=timezone.utc)).astimezone(CHINA).date()
    if unit == "calendar":
        end = local + timedelta(days=days)
    else:
        end, counted = local, 0
        while counted < days:
            end += timedelta(days=1)
            counted += is_working_day(end)
    # Stored as UTC: SQLite keeps a datetime's wall time and drops its zone.
    return datetime.combine(end, time(23, 59, 59), CHINA).astimezone(timezone.utc)
