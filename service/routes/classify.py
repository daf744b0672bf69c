from fastapi import APIRouter, Request

from ..deps import IntakeKey, PredictorDep
from ..intake import attach_routes
from ..schemas import BatchRequest, BatchResponse, Classification, Submission, error_responses

router = APIRouter(prefix="/v1", tags=["classify"], responses=error_responses(401, 403, 413, 422, 503))


@router.post("/classify", response_model=Classification)
async def classify(submission: Submission, predictor: PredictorDep, _: IntakeKey, request: Request) -> Classification:
    """Classifies one submission: type, department top-k, risk with reasons, keywords, needs_review."""
    (result,) = attach_routes(await predictor.classify([submission]), [submission], request.app.state.routing.current())
    request.app.state.metrics.observe_classification(result)
    return result


@router.post("/classify:batch", response_model=BatchResponse)
async def classify_batch(batch: BatchRequest, predictor: PredictorDep, _: IntakeKey, request: Request) -> BatchResponse:
    """Classifies up to 64 submissions in one call."""
    results = attach_routes(await predictor.classify(batch.items), batch.items, request.app.state.routing.current())
    for result in results:
        request.app.state.metrics.observe_classification(result)
    return BatchResponse(items=results)
