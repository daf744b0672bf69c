from fastapi import APIRouter

from ..deps import IntakeKey, TriageDep
from ..schemas import BatchRequest, BatchResponse, Classification, Submission, error_responses

router = APIRouter(prefix="/v1", tags=["classify"], responses=error_responses(401, 403, 413, 422, 503))


@router.post("/classify", response_model=Classification)
async def classify(submission: Submission, triage: TriageDep, _: IntakeKey) -> Classification:
    """Classifies one submission: type, department top-k, risk with reasons, keywords, needs_review."""
    (result,) = await triage.classify([submission])
    return result


@router.post("/classify:batch", response_model=BatchResponse)
async def classify_batch(batch: BatchRequest, triage: TriageDep, _: IntakeKey) -> BatchResponse:
    """Classifies up to 64 submissions in one call."""
    return BatchResponse(items=await triage.classify(batch.items))
