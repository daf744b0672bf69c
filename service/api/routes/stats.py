from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query

from ...casework import statistics
from ...storage.tables import as_utc
from ..deps import ReviewerKey, SessionDep
from ..schemas import State, Stats, error_responses

router = APIRouter(prefix="/v1", tags=["statistics"], responses=error_responses(401, 403, 422))


@router.get("/stats", response_model=Stats)
def stats(session: SessionDep, _: ReviewerKey,
          since: datetime | None = Query(None, description="cases registered from (ISO 8601)"),
          until: datetime | None = Query(None, description="cases registered before"),
          department: str | None = None, channel: str | None = None,
          region: str | None = Query(None, description="region prefix, e.g. 青海省西宁市"),
          region_code: str | None = Query(None, pattern=r"^\d{1,12}$", description="division-code prefix, e.g. 6301"),
          type: str | None = None, risk: str | None = None, state: State | None = None,
          bucket: Literal["day", "week"] = "day") -> Stats:
    """The whole picture: counts by state, department, channel, type and risk, the trend by day or week
    (Beijing time), overdue cases, the share of cases whose department reviewers corrected (misroutes),
    and the share in a duplicate group."""
    where = statistics.StatsFilter(since=as_utc(since) if since else None, until=as_utc(until) if until else None, department=department, region=region,
                                   region_code=region_code, channel=channel,
                                   type=type, risk=risk, state=state)
    return Stats(bucket=bucket, **statistics.compute(session, where, bucket))
