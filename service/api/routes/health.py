from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from ..schemas import Health, error_responses

router = APIRouter(tags=["operations"], responses=error_responses(503,))


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def readyz(request: Request):
    """Readiness: a model is loaded, the database answers and the routing table in force can route."""
    predictor = request.app.state.registry.predictor
    try:
        with request.app.state.database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # any driver error means not ready
        database = f"unreachable: {type(exc).__name__}"
    failure = request.app.state.routing.current().routing_failure
    routing = "ok" if failure is None else f"cannot route: {failure}"
    ready = predictor is not None and database == "ok" and failure is None
    body = Health(status="ready" if ready else "not ready", model_version=predictor.version if predictor else None,
                  database=database, routing=routing, detail=None if predictor else "no model loaded")
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type="text/plain; version=0.0.4")
