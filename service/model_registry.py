"""Model versions on disk, which one serves, and switching without a restart."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from petition_triage.model.model_dir import ModelDirectory
from petition_triage.model.taxonomy import Taxonomy

from .predictor import ModelCheckError, Predictor
from .storage.tables import ModelActivation

logger = logging.getLogger(__name__)


class ModelRegistry:
    """Versions are the shipped default plus every model directory under `models_root`."""

    def __init__(self, default_dir: Path, models_root: Path, taxonomy: Taxonomy, batch_options: dict) -> None:
        self.default_dir = Path(default_dir)
        self.models_root = Path(models_root)
        self.taxonomy = taxonomy
        self.batch_options = batch_options
        self.predictor: Predictor | None = None
        self.active_path: Path | None = None

    def versions(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        candidates = [self.default_dir] + (sorted(self.models_root.iterdir()) if self.models_root.is_dir() else [])
        for path in candidates:
            artifact = ModelDirectory(path).artifact
            if artifact.exists():
                try:
                    version = json.loads(artifact.read_text(encoding="utf-8")).get("version") or path.name
                except (OSError, ValueError):
                    continue
                found.setdefault(version, path)
        return found

    def listing(self) -> list[tuple[str, Path, bool, dict]]:
        """(version, path, serving now?, metrics.json) for every version on disk."""
        active = self.predictor.version if self.predictor else None
        items = []
        for version, path in self.versions().items():
            metrics_file = ModelDirectory(path).metrics
            metrics = json.loads(metrics_file.read_text(encoding="utf-8")) if metrics_file.exists() else {}
            items.append((version, path, version == active, metrics))
        return items

    def load(self, path: Path) -> Predictor:
        return Predictor(path, self.taxonomy, **self.batch_options)

    def start(self, session: Session | None) -> None:
        """Serves the latest activated version that still loads, else the shipped default."""
        paths = []
        if session is not None:
            rows = session.scalars(select(ModelActivation).order_by(ModelActivation.id.desc()).limit(5))
            paths = [Path(r.path) for r in rows]
        for path in [*paths, self.default_dir]:
            try:
                self.predictor, self.active_path = self.load(path), path
                logger.info("serving model %s from %s", self.predictor.version, path)
                return
            except ModelCheckError as exc:
                logger.error("%s", exc)
        logger.error("no model loads: classification answers 503 until one is activated")

    def activate(self, session: Session, version: str, actor: str) -> Predictor:
        """Loads and self-checks `version`; only if that works does it replace the serving model."""
        path = self.versions().get(version)
        if path is None:
            raise KeyError(version)
        predictor = self.load(path)  # raises ModelCheckError, leaving the current model serving
        replaced = self.predictor
        self.predictor, self.active_path = predictor, path
        session.add(ModelActivation(version=predictor.version, path=str(path), actor=actor))
        session.commit()
        if replaced is not None and replaced is not predictor:
            replaced.batcher.retire()
        return predictor

    def rollback(self, session: Session, actor: str) -> Predictor:
        """Activates the version that served before the current one; KeyError where there is none."""
        previous = self.previous_version(session)
        if previous is None:
            raise KeyError("there is no earlier model version to roll back to")
        return self.activate(session, previous, actor)

    def previous_version(self, session: Session) -> str | None:
        current = self.predictor.version if self.predictor else None
        for row in session.scalars(select(ModelActivation).order_by(ModelActivation.id.desc())):
            if row.version != current:
                return row.version
        default = next((v for v, p in self.versions().items() if p == self.default_dir), None)
        return default if default != current else None
