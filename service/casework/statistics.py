"""Counts over the cases, computed in the database (GROUP BY on indexed columns), so they stay fast
at 100,000 cases: totals by state, department, channel, type and risk; a daily or weekly trend in
Beijing time; overdue cases; the misroute rate by department; the duplicate rate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, distinct, func, select
from sqlalchemy.orm import Session

from ..storage.tables import Case, Correction, utcnow


@dataclass
class StatsFilter:
    since: datetime | None = None
    until: datetime | None = None
    department: str | None = None
    region: str | None = None  # a prefix: "青海省西宁市" covers its districts
    region_code: str | None = None  # a division-code prefix: "6301" covers Xining's districts
    channel: str | None = None
    type: str | None = None
    risk: str | None = None
    state: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        where = []
        if self.since:
            where.append(Case.created_at >= self.since)
        if self.until:
            where.append(Case.created_at < self.until)
        for column, value in ((Case.predicted_department, self.department), (Case.channel, self.channel),
                              (Case.predicted_type, self.type), (Case.predicted_risk, self.risk),
                              (Case.state, self.state)):
            if value:
                where.append(column == value)
        if self.region:
            where.append(Case.region.startswith(self.region, autoescape=True))
        if self.region_code:
            where.append(Case.region_code.startswith(self.region_code, autoescape=True))
        return where


def _bucket(session: Session, bucket: str):
    """The Beijing-time day ("2026-11-27") or ISO week ("2026-W48") of a case, in the database's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        local = func.timezone("Asia/Shanghai", Case.created_at)
        return func.to_char(local, 'IYYY-"W"IW') if bucket == "week" else func.to_char(local, "YYYY-MM-DD")
    local = func.datetime(Case.created_at, "+8 hours")
    # SQLite has no ISO week; %W (weeks from the first Monday) is close and sorts the same way.
    return func.strftime("%Y-W%W", local) if bucket == "week" else func.strftime("%Y-%m-%d", local)


def compute(session: Session, where: StatsFilter, bucket: str = "day") -> dict:
    conditions = where.conditions()

    def counts(column) -> dict[str, int]:
        rows = session.execute(select(column, func.count()).where(*conditions).group_by(column)).all()
        return {str(key): n for key, n in rows if key is not None}

    total = session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0
    period = _bucket(session, bucket)
    trend = session.execute(select(period, func.count()).where(*conditions).group_by(period).order_by(period)).all()
    overdue = session.scalar(select(func.count()).select_from(Case)
                             .where(*conditions, Case.due_at < utcnow(), Case.state != "closed")) or 0
    duplicates = session.scalar(select(func.count()).select_from(Case)
                                .where(*conditions, Case.duplicate_group.is_not(None))) or 0
    corrected = dict(session.execute(
        select(Case.predicted_department, func.count(distinct(Case.id))).join(Correction, Correction.case_id == Case.id)
        .where(*conditions, Correction.field == "department").group_by(Case.predicted_department)).all())
    by_department = counts(Case.predicted_department)
    return {
        "total": total,
        "by_state": counts(Case.state), "by_department": by_department, "by_channel": counts(Case.channel),
        "by_type": counts(Case.predicted_type), "by_risk": counts(Case.predicted_risk),
        "by_region_code": counts(Case.region_code), "by_office": counts(Case.office),
        "trend": [{"period": str(p), "cases": n} for p, n in trend],
        "overdue": overdue,
        "duplicate_rate": round(duplicates / total, 4) if total else 0.0,
        "misroute_rate_by_department": {d: round(corrected.get(d, 0) / n, 4) for d, n in by_department.items()},
    }
