from fastapi import APIRouter, Body, HTTPException, status

from ...casework.lifecycle import STATE_NAMES, TransitionRefused
from ...casework.registration import register_submissions
from ...storage import case_store, duplicate_store
from ...storage.tables import Case
from ..deps import (ContactSaltDep, DuplicateIndexDep, IntakeKey, PredictorDep, ReviewerKey, RoutingDep, SessionDep,
                    TimeLimitsDep, TriageDep)
from ..keys import role_allows
from ..schemas import (AcceptRequest, CaseCreated, CaseDetail, CaseEventView, Classification, CorrectionEvent,
                       CorrectionRequest, Submission, error_responses)

router = APIRouter(prefix="/v1/cases", tags=["cases"], responses=error_responses(401, 403, 404, 413, 422, 503))


@router.post("", response_model=CaseCreated, status_code=status.HTTP_201_CREATED)
async def register_case(submission: Submission, triage: TriageDep, index: DuplicateIndexDep, session: SessionDep,
                        caller: IntakeKey, salt: ContactSaltDep, time_limits: TimeLimitsDep) -> CaseCreated:
    """Classifies a submission, finds its earlier duplicates and related cases (when the model has a
    duplicate scorer), and stores it with all of that."""
    (created,) = await register_submissions([submission], triage, index, session, salt, time_limits,
                                            role_allows(caller.role, "reviewer"))
    return created


@router.get("/{case_id}", response_model=CaseDetail)
def read_case(case_id: str, session: SessionDep, _: ReviewerKey) -> CaseDetail:
    """A case with its predictions, its current labels and the history of corrections."""
    return case_detail(case_or_404(session, case_id), session)


@router.post("/{case_id}/corrections", response_model=CaseDetail)
def correct_case(case_id: str, correction: CorrectionRequest, session: SessionDep, reviewer: ReviewerKey,
                 predictor: PredictorDep, routing: RoutingDep) -> CaseDetail:
    """Records a reviewer's correction as events (who, when, from what, to what); nothing is overwritten."""
    case_or_404(session, case_id)
    try:
        changes = case_store.validate_correction(correction, predictor.model.labels, routing.current().offices)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc))
    return write_and_show(session, case_id, lambda c: case_store.add_corrections(
        session, c, changes, correction.reason, reviewer.name, c.model_version))


@router.post("/{case_id}/accept", response_model=CaseDetail, responses=error_responses(409))
def accept_case(case_id: str, session: SessionDep, reviewer: ReviewerKey,
                body: AcceptRequest = Body(default_factory=AcceptRequest)) -> CaseDetail:
    """Confirms the prediction (with any earlier corrections) as right: an `accepted` review event in the
    history; the case leaves the review queue and its labels count as reviewed training labels."""
    return write_and_show(session, case_id, lambda c: case_store.accept_prediction(session, c, body.reason,
                                                                                      reviewer.name))


def case_or_404(session, case_id: str) -> Case:
    case = case_store.get_case(session, case_id)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no case with id {case_id!r}")
    return case


def write_and_show(session, case_id: str, change) -> CaseDetail:
    """Runs `change` on the case as its one writer (`case_store.write_case`) and answers with the case:
    404 for an unknown case; 409 when the lifecycle does not allow the change now, or other writers kept
    changing the case; 422 for a value beyond the policy's bounds (an extension)."""
    case_or_404(session, case_id)
    try:
        case_store.write_case(session, case_id, change)
    except (TransitionRefused, case_store.ConcurrentWrites) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc))
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc))
    return case_detail(case_or_404(session, case_id), session)


def case_detail(case, session) -> CaseDetail:
    links = duplicate_store.links_of(session, case.id)
    return CaseDetail(
        id=case.id, created_at=case.created_at, channel=case.channel, title=case.title, text=case.text,
        metadata=case.meta, classification=Classification.model_validate(case.classification),
        current=case_store.current_labels(case),
        history=[CorrectionEvent.model_validate(e, from_attributes=True) for e in case.corrections],
        duplicate_group=case.duplicate_group, links=[duplicate_store.link_view(l) for l in links],
        state=case.state, state_zh=STATE_NAMES.get(case.state, case.state), due_at=case.due_at,
        overdue=case_store.is_overdue(case), events=[CaseEventView.model_validate(e, from_attributes=True) for e in case.events],
    )
