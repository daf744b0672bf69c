import math

from fastapi import APIRouter, HTTPException, Query, Request, status

from ...casework.lifecycle import STATE_NAMES
from ...storage import case_store
from ..deps import SessionDep, StatusGuessLimitsDep
from ..schemas import CaseStatus, error_responses

router = APIRouter(prefix="/v1/public", tags=["petitioners"], responses=error_responses(404, 422, 429))


@router.get("/cases/{case_id}/status", response_model=CaseStatus)
def case_status(case_id: str, session: SessionDep, request: Request, limits: StatusGuessLimitsDep,
                code: str = Query(min_length=6, max_length=6, description="the code given at registration")) -> CaseStatus:
    """A petitioner's view of their case: its state and deadline, with no key but the case's own code.
    A wrong code answers exactly like an unknown case, so ids cannot be probed; after a few wrong codes
    for one case, or from one address, the next tries wait (429 with Retry-After)."""
    client = request.client.host if request.client else "?"
    wait = limits.retry_after(case_id, client)
    if wait:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail="too many wrong codes; try again later",
                            headers={"Retry-After": str(math.ceil(wait))})
    case = case_store.get_case(session, case_id)
    if case is None or not case_store.check_verification_code(case, code):
        limits.fail(case_id, client)
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no case with this id and code")
    last = max([case.created_at, *(e.created_at for e in case.events)])
    return CaseStatus(case_id=case.id, state=case.state, state_zh=STATE_NAMES.get(case.state, case.state),
                      registered_at=case.created_at, last_update=last, due_at=case.due_at,
                      department=case.predicted_department)
