from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from ..deps import DatabaseDep, MetricsDep, RegistryDep, RoutingDep
from ..schemas import Health, error_responses

router = APIRouter(tags=["operations"], responses=error_responses(503,))


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def readyz(registry: RegistryDep, database: DatabaseDep, routing: RoutingDep):
    """Readiness: a model is loaded, the database answers and the routing table in force can route."""
    predictor = registry.predictor
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database_status = "ok"
    except Exception as exc:  # any driver error means not ready
        database_status = f"unreachable: {type(exc).__name__}"
    failure = routing.current().routing_failure
    ready = predictor is not None and database_status == "ok" and failure is None
    body = Health(status="ready" if ready else "not ready", model_version=predictor.version if predictor else None,
                  database=database_status, routing="ok" if failure is None else f"cannot route: {failure}",
                  detail=None if predictor else "no model loaded")
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(service_metrics: MetricsDep) -> Response:
    return Response(service_metrics.render(), media_type="text/plain; version=0.0.4")
