from fastapi import APIRouter, HTTPException, Request, status

from .. import case_store
from ..deps import IntakeKey, PredictorDep, ReviewerKey, SessionDep
from ..schemas import CaseCreated, CaseDetail, Classification, CorrectionEvent, CorrectionRequest, Submission

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.post("", response_model=CaseCreated, status_code=status.HTTP_201_CREATED)
async def register_case(submission: Submission, predictor: PredictorDep, session: SessionDep, _: IntakeKey,
                        request: Request) -> CaseCreated:
    """Classifies a submission and stores it with its predictions."""
    (classification,) = await predictor.classify([submission])
    request.app.state.metrics.observe_classification(classification)
    case = case_store.register_case(session, submission, classification, request.app.state.contact_salt)
    return CaseCreated(id=case.id, created_at=case.created_at, classification=classification)


@router.get("/{case_id}", response_model=CaseDetail)
def read_case(case_id: str, session: SessionDep, _: ReviewerKey) -> CaseDetail:
    """A case with its predictions, its current labels and the history of corrections."""
    case = case_store.get_case(session, case_id)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no case with id {case_id!r}")
    return _detail(case)


@router.post("/{case_id}/corrections", response_model=CaseDetail)
def correct_case(case_id: str, correction: CorrectionRequest, session: SessionDep, reviewer: ReviewerKey,
                 predictor: PredictorDep) -> CaseDetail:
    """Records a reviewer's correction as events (who, when, from what, to what); nothing is overwritten."""
    case = case_store.get_case(session, case_id)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no case with id {case_id!r}")
    try:
        changes = case_store.validate_correction(correction, predictor.model.labels)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc))
    case_store.add_corrections(session, case, changes, correction.reason, reviewer.name, case.model_version)
    return _detail(case)


def _detail(case) -> CaseDetail:
    return CaseDetail(
        id=case.id, created_at=case.created_at, channel=case.channel, title=case.title, text=case.text,
        metadata=case.meta, classification=Classification.model_validate(case.classification),
        current=case_store.current_labels(case),
        history=[CorrectionEvent.model_validate(e, from_attributes=True) for e in case.corrections],
    )
