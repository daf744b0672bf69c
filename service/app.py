"""The FastAPI application: wiring only; the work is in the routes and the modules they call."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from petition_triage import __version__
from petition_triage.config import Settings, get_settings
from petition_triage.dedup.index import DuplicateIndex
from petition_triage.model.taxonomy import load_taxonomy

from .api.deps import authenticate
from .api.keys import KeyCache, create_key, list_keys
from .api.rate_limits import StatusGuessLimits, auth_failure_limiter
from .api.request_guards import RequestGuards
from .api.routes import (cases, classify, duplicates, health, intake, lifecycle, models, notifications, public, review,
                         routing_table, stats)
from .casework.notifications import Dispatcher, load_sms_sender
from .casework.time_limits import TimeLimitPolicy
from .model_registry import ModelRegistry
from .offices.routing import RoutingTable
from .offices.routing_state import RoutingState
from .service_metrics import ServiceMetrics
from .storage.database import Database, migrate
from .storage.duplicate_store import sync_index
from .web import pages

logger = logging.getLogger(__name__)

DESCRIPTION = """
Sorts citizens' petitions (信访) and hotline complaints as they arrive: request type (诉求/意见建议/咨询),
responsible department (top-k, calibrated), escalation risk with reason codes, and the keywords behind the
decision. Cases are stored with their predictions; reviewers' corrections are kept as events and flow back
into training.

Authenticate with an API key: `Authorization: Bearer <key>` or `X-API-Key: <key>`. Roles: intake (classify,
register), reviewer (also read cases, correct, review queue), admin (also manage models). Create keys with
`petition-triage keys create`.
"""


def bootstrap_admin_key(database: Database) -> None:
    """A first start with no keys creates one admin key and prints it once, so the service is usable."""
    with database.sessions() as session:
        if list_keys(session):
            return
        key = create_key(session, "bootstrap-admin", "admin")
    logger.warning("no API keys existed: created admin key 'bootstrap-admin' = %s (shown once; revoke it with "
                   "`petition-triage keys revoke bootstrap-admin` after creating your own)", key)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    database = Database(settings.resolved_database_url)
    metrics = ServiceMetrics()
    registry = ModelRegistry(settings.model_dir, settings.models_root, load_taxonomy(),
                             {"max_batch": settings.batch_max_size, "max_wait_ms": settings.batch_max_wait_ms,
                              "on_batch": metrics.batch_size.observe})

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        migrate(database.engine)
        bootstrap_admin_key(database)
        with database.sessions() as session:
            registry.start(session)
            loaded = sync_index(app.state.duplicate_index, session)
        logger.info("duplicate index: %d cases loaded", loaded)
        serving = registry.predictor.version if registry.predictor else None
        stale = app.state.duplicate_index.not_embedded_by(serving) if serving else 0
        if stale:
            logger.warning("%d stored cases were embedded by another model; duplicate search skips them until "
                           "`petition-triage duplicates reindex` has run", stale)
        dispatch = None
        if settings.notify_interval_s > 0:
            dispatch = asyncio.create_task(app.state.dispatcher.run_forever(
                settings.notify_interval_s, timedelta(days=app.state.time_limits.due_soon_days), settings.sms_recipients))
        yield
        if dispatch is not None:
            dispatch.cancel()
        if registry.predictor is not None:
            await registry.predictor.batcher.stop()
        database.engine.dispose()

    app = FastAPI(title="petition-triage", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.database = database
    app.state.registry = registry
    app.state.metrics = metrics
    app.state.duplicate_index = DuplicateIndex()
    app.state.time_limits = TimeLimitPolicy.load(settings.time_limits_file)
    app.state.status_guess_limits = StatusGuessLimits()
    app.state.auth_failures = auth_failure_limiter()
    app.state.routing = RoutingState(RoutingTable.load(settings.routing_table_file), database,
                                     settings.routing_refresh_s)
    app.state.dispatcher = Dispatcher(database, load_sms_sender(settings.sms_sender),
                                    private_targets=settings.webhook_private_targets)
    app.state.contact_salt = settings.resolved_contact_salt()
    app.state.session_secret = settings.resolved_session_secret()
    app.state.key_cache = KeyCache()

    @app.middleware("http")
    async def measure(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        app.state.metrics.requests.labels(path, request.method, str(response.status_code)).inc()
        app.state.metrics.latency.labels(path).observe(time.perf_counter() - started)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Where and what, never the input itself: echoing it would send a 10 MB body back, and a lone
        # surrogate in it could not even be encoded (a 500 whose traceback logged the text).
        problems = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                    for e in exc.errors()]
        return JSONResponse({"detail": problems}, status_code=422)

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        logger.error("database error on %s: %s", request.url.path, exc.orig)
        return JSONResponse({"detail": "the database is unavailable; nothing was stored, retry later"},
                            status_code=503)

    @app.exception_handler(SQLAlchemyError)
    async def database_error(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        logger.error("database error on %s: %s", request.url.path, exc)
        return JSONResponse({"detail": "the database refused the operation; nothing was stored"}, status_code=503)

    @app.exception_handler(pages.SignInRequired)
    async def sign_in(request: Request, exc: pages.SignInRequired) -> RedirectResponse:
        return RedirectResponse(f"/ui/login?next={quote(exc.next_url)}", status_code=303)

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/ui/queue", status_code=303)

    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static")
    app.include_router(pages.router)
    for router in (health.router, classify.router, intake.router, lifecycle.router, cases.router, duplicates.router,
                   review.router, models.router, notifications.router, public.router, stats.router,
                   routing_table.router):
        app.include_router(router)
    # Outermost, so that it runs before anything reads a body (added last = wraps the rest).
    app.add_middleware(RequestGuards, max_body_bytes=settings.max_body_bytes, authenticate=authenticate)
    return app
