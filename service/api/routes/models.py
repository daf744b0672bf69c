from fastapi import APIRouter, HTTPException, status

from ...predictor import ModelCheckError
from ...storage.duplicate_store import sync_index
from ..deps import AdminKey, DuplicateIndexDep, RegistryDep, SessionDep
from ..schemas import ModelList, ModelVersion, error_responses

router = APIRouter(prefix="/v1/models", tags=["models"], responses=error_responses(401, 403, 404, 409))


@router.get("", response_model=ModelList)
def list_models(registry: RegistryDep, _: AdminKey) -> ModelList:
    """Model versions on disk, with their metrics and which one serves."""
    return ModelList(items=[ModelVersion(version=version, path=str(path), active=active, metrics=metrics)
                            for version, path, active, metrics in registry.listing()])


@router.post("/{version}:activate", response_model=ModelVersion)
def activate_model(version: str, registry: RegistryDep, index: DuplicateIndexDep, session: SessionDep,
                   admin: AdminKey) -> ModelVersion:
    """Switches the serving model; one that fails to load or its self-check leaves the current one serving."""
    try:
        predictor = registry.activate(session, version, admin.name)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no model version {version!r}")
    except ModelCheckError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"{exc}; the current model keeps serving")
    return _serving(registry, index, session, predictor)


@router.post(":rollback", response_model=ModelVersion)
def rollback_model(registry: RegistryDep, index: DuplicateIndexDep, session: SessionDep,
                   admin: AdminKey) -> ModelVersion:
    """Goes back to the version that served before the current one."""
    try:
        predictor = registry.rollback(session, admin.name)
    except KeyError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=exc.args[0])
    except ModelCheckError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"{exc}; the current model keeps serving")
    return _serving(registry, index, session, predictor)


def _serving(registry, index, session, predictor) -> ModelVersion:
    """The model now serving, with how many stored cases its duplicate search has no embedding for."""
    sync_index(index, session)
    return ModelVersion(version=predictor.version, path=str(registry.active_path), active=True,
                        metrics={}, cases_to_reindex=index.not_embedded_by(predictor.version))
