from fastapi import APIRouter, Query

from ...storage import case_store
from ..deps import ReviewerKey, SessionDep
from ..schemas import QueueItem, ReviewQueue, error_responses

router = APIRouter(prefix="/v1/review", tags=["review"], responses=error_responses(401, 403, 422))


@router.get("/queue", response_model=ReviewQueue)
def review_queue(session: SessionDep, _: ReviewerKey, limit: int = Query(20, ge=1, le=200),
                 department: str | None = Query(None, max_length=64)) -> ReviewQueue:
    """Uncorrected cases to look at first: high risk, abstained, low margin; look-alikes spread out."""
    items = [
        QueueItem(id=case.id, created_at=case.created_at, channel=case.channel, title=case.title,
                  excerpt=case.text[:120], department=case.predicted_department,
                  department_probability=case.department_probability, risk=case.predicted_risk,
                  priority=priority, why=why)
        for case, priority, why in case_store.review_queue(session, limit, department)
    ]
    return ReviewQueue(items=items)
