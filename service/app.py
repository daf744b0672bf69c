"""The HTTP service. Until a trained model ships, it answers health checks and says so."""

from __future__ import annotations

from fastapi import FastAPI

from petition_triage import __version__


def create_app() -> FastAPI:
    app = FastAPI(title="petition-triage", version=__version__)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "model": "none: no trained model is shipped yet (see issue 4)"}

    return app
