from typing import Literal

from fastapi import APIRouter, Query

from ...casework import lifecycle
from ...storage import case_store
from ..deps import ReviewerKey, SessionDep, TimeLimitsDep
from ..schemas import (MAX_ROW_ID, CaseDetail, CaseList, CaseSummary, ExtensionRequest, State, TransitionRequest,
                       error_responses)
from .cases import write_and_show

router = APIRouter(prefix="/v1/cases", tags=["lifecycle"], responses=error_responses(401, 403, 404, 409, 422))


@router.get("", response_model=CaseList)
def list_cases(time_limits: TimeLimitsDep, session: SessionDep, _: ReviewerKey,
               state: State | None = None,
               due: Literal["overdue", "due_soon"] | None = Query(None, description="overdue, or due within the "
                                                                               "policy's due-soon days"),
               department: str | None = None, channel: str | None = None,
               limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=MAX_ROW_ID)) -> CaseList:
    """Cases by state and deadline, soonest deadline first: what is overdue, what falls due soon."""
    cases, total = case_store.list_cases(session, state=state, due=due, department=department, channel=channel,
                                         due_soon_days=time_limits.due_soon_days,
                                         limit=limit, offset=offset)
    return CaseList(total=total, items=[CaseSummary(
        id=c.id, created_at=c.created_at, channel=c.channel, title=c.title, excerpt=c.text[:80],
        department=c.predicted_department, state=c.state, state_zh=lifecycle.STATE_NAMES.get(c.state, c.state),
        due_at=c.due_at, overdue=case_store.is_overdue(c)) for c in cases])


@router.post("/{case_id}/transitions", response_model=CaseDetail)
def transition(case_id: str, request_body: TransitionRequest, time_limits: TimeLimitsDep, session: SessionDep,
               reviewer: ReviewerKey) -> CaseDetail:
    """Moves a case along its lifecycle (登记 → 受理 → 办理 → 答复 → 办结, or 退回 / 督办); 409 when the
    current state does not allow it. Each move is an event with actor and time; the deadline follows."""
    return write_and_show(session, case_id, lambda c: lifecycle.transition(
        session, c, request_body.to, reviewer.name, request_body.note, time_limits))


@router.post("/{case_id}/extension", response_model=CaseDetail)
def extend(case_id: str, request_body: ExtensionRequest, time_limits: TimeLimitsDep, session: SessionDep,
           reviewer: ReviewerKey) -> CaseDetail:
    """Extends the handling time limit (once, by at most 30 days under the default policy)."""
    return write_and_show(session, case_id, lambda c: lifecycle.extend(
        session, c, request_body.days, reviewer.name, request_body.reason, time_limits))
