"""Dependencies: every collaborator a route needs (database sessions, the model registry and serving
predictor, the routing table in force, the time-limit policy, the duplicate index, settings) and API-key
authentication by role. Routes take these, never `request.app.state`."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from petition_triage.config import Settings
from petition_triage.dedup.index import DuplicateIndex
from petition_triage.dedup.scorer import DuplicateScorer

from ..casework.time_limits import TimeLimitPolicy
from ..model_registry import ModelRegistry
from ..offices.routing_state import RoutingState
from ..predictor import Predictor
from ..service_metrics import ServiceMetrics
from ..storage.database import Database
from ..storage.tables import ApiKey
from ..web import session as web_session
from .keys import role_allows
from .rate_limits import StatusGuessLimits
from .triage import Triage

_bearer = HTTPBearer(auto_error=False, description="API key as a bearer token")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.database.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _app_state(name: str):
    """A dependency handing a route the app's `name` (made once at start-up, in create_app)."""
    def get(request: Request):
        return getattr(request.app.state, name)

    get.__name__ = f"get_{name}"
    return Depends(get)


SettingsDep = Annotated[Settings, _app_state("settings")]
DatabaseDep = Annotated[Database, _app_state("database")]
MetricsDep = Annotated[ServiceMetrics, _app_state("metrics")]
RegistryDep = Annotated[ModelRegistry, _app_state("registry")]
RoutingDep = Annotated[RoutingState, _app_state("routing")]
TimeLimitsDep = Annotated[TimeLimitPolicy, _app_state("time_limits")]
ContactSaltDep = Annotated[str, _app_state("contact_salt")]
DuplicateIndexDep = Annotated[DuplicateIndex, _app_state("duplicate_index")]
StatusGuessLimitsDep = Annotated[StatusGuessLimits, _app_state("status_guess_limits")]


def get_predictor(request: Request) -> Predictor:
    predictor = request.app.state.registry.predictor
    if predictor is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="no model is loaded; an admin must activate one")
    return predictor


PredictorDep = Annotated[Predictor, Depends(get_predictor)]


def get_triage(request: Request, predictor: PredictorDep) -> Triage:
    """The serving model with the routing table in force now: predict → place → office."""
    return Triage(predictor, request.app.state.routing.current(), request.app.state.metrics)


TriageDep = Annotated[Triage, Depends(get_triage)]


def require_duplicate_scorer(predictor: Predictor) -> DuplicateScorer:
    if predictor.duplicate_scorer is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            detail=f"model {predictor.version} has no duplicate scorer; fit one with "
                                   "`petition-triage duplicates fit --model DIR` and activate the model again")
    return predictor.duplicate_scorer


def client_address(request: Request) -> str:
    return request.client.host if request.client else "?"


def authenticate(request: Request) -> ApiKey:
    """The one key check: the unrevoked key the request carries (or, for a read, its page session).

    Run by the request guards before a write's body is read and left in the request's state; wrong keys
    are counted per calling address, and an address that keeps guessing waits (429).
    """
    known = getattr(request.state, "api_key", None)
    if known is not None:
        return known
    key = request.headers.get("x-api-key") or _bearer_token(request.headers.get("authorization"))
    if not key and request.method in ("GET", "HEAD"):
        # The web pages' charts read the API with their session cookie; writes need a key or a form's CSRF token.
        signed_in = session_key(request)
        if signed_in is not None:
            return signed_in
    if not key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="missing API key: send 'Authorization: Bearer <key>' "
                            "or 'X-API-Key: <key>'", headers={"WWW-Authenticate": "Bearer"})
    refuse_while_guessing(request)
    row = request.app.state.key_cache.lookup(request.app.state.database, key)
    if row is None:
        request.app.state.auth_failures.fail(client_address(request))
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="unknown or revoked API key",
                            headers={"WWW-Authenticate": "Bearer"})
    request.state.api_key = row
    return row


def _bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _caller(request: Request, bearer: HTTPAuthorizationCredentials | None = Security(_bearer),
            header_key: str | None = Security(_header)) -> ApiKey:
    # The security schemes are parameters so that OpenAPI documents them; `authenticate` reads the headers.
    return authenticate(request)


def session_key(request: Request) -> ApiKey | None:
    """The unrevoked key whose live page session the request's cookie names, if any."""
    token = request.cookies.get(web_session.COOKIE)
    if not token:
        return None
    with request.app.state.database.sessions() as session:
        key_id = web_session.key_id_of(session, token)
        row = session.get(ApiKey, key_id) if key_id is not None else None
    return row if row is not None and row.revoked_at is None else None


def refuse_while_guessing(request: Request) -> None:
    """429 for an address that has sent too many wrong keys lately (API or sign-in form)."""
    wait = request.app.state.auth_failures.retry_after(client_address(request))
    if wait:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(math.ceil(wait))},
                            detail=f"too many wrong API keys from this address; retry in {math.ceil(wait)} s")


def require(role: str):
    def check(caller: Annotated[ApiKey, Depends(_caller)]) -> ApiKey:
        if not role_allows(caller.role, role):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                detail=f"this needs the {role} role; key {caller.name!r} has {caller.role}")
        return caller

    return check


IntakeKey = Annotated[ApiKey, Depends(require("intake"))]
ReviewerKey = Annotated[ApiKey, Depends(require("reviewer"))]
AdminKey = Annotated[ApiKey, Depends(require("admin"))]
