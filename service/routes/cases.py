from fastapi import APIRouter, HTTPException, Request, status

from .. import case_store, duplicate_store
from ..deps import DuplicateIndexDep, IntakeKey, PredictorDep, ReviewerKey, SessionDep
from ..schemas import CaseCreated, CaseDetail, Classification, CorrectionEvent, CorrectionRequest, Submission

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.post("", response_model=CaseCreated, status_code=status.HTTP_201_CREATED)
async def register_case(submission: Submission, predictor: PredictorDep, index: DuplicateIndexDep,
                        session: SessionDep, _: IntakeKey, request: Request) -> CaseCreated:
    """Classifies a submission, finds its earlier duplicates and related cases (when the model has a
    duplicate scorer), and stores it with all of that."""
    (classification,), embeddings = await predictor.classify_and_embed([submission])
    request.app.state.metrics.observe_classification(classification)
    salt = request.app.state.contact_salt
    fp = duplicate_store.submission_fingerprint(submission, classification, embeddings[0], salt)
    duplicates = []
    if predictor.duplicate_scorer is not None:
        duplicates = duplicate_store.find_duplicates(session, index, predictor.duplicate_scorer, fp)
    case = case_store.register_case(session, submission, classification, salt, fp, duplicates)
    index.add(case.id, fp)
    return CaseCreated(id=case.id, created_at=case.created_at, classification=classification,
                       duplicates=duplicates, duplicate_group=case.duplicate_group)


@router.get("/{case_id}", response_model=CaseDetail)
def read_case(case_id: str, session: SessionDep, _: ReviewerKey) -> CaseDetail:
    """A case with its predictions, its current labels and the history of corrections."""
    case = case_store.get_case(session, case_id)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no case with id {case_id!r}")
    return _detail(case, session)


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
    return _detail(case, session)


def _detail(case, session) -> CaseDetail:
    links = duplicate_store.links_of(session, case.id)
    return CaseDetail(
        id=case.id, created_at=case.created_at, channel=case.channel, title=case.title, text=case.text,
        metadata=case.meta, classification=Classification.model_validate(case.classification),
        current=case_store.current_labels(case),
        history=[CorrectionEvent.model_validate(e, from_attributes=True) for e in case.corrections],
        duplicate_group=case.duplicate_group, links=[duplicate_store.link_view(l) for l in links],
    )
