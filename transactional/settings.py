"""The one settings object of the product, read from `EMR_*` environment variables."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EMR_", extra="ignore")

    # Engines. Unset URLs mean the embedded engines under `state_dir`.
    state_dir: Path = PROJECT_ROOT / ".emr"
    database_url: SecretStr | None = Field(
        default=None,
        description="Owner/migration connection to an existing PostgreSQL server.",
    )
    app_database_url: SecretStr | None = Field(
        default=None,
        description="Connection used by the running app; defaults to database_url as app_db_role.",
    )
    app_db_role: str = Field(default="emr_app", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    app_db_password: SecretStr | None = None
    warehouse_url: SecretStr | None = Field(
        default=None, description="ClickHouse server over HTTP, e.g. http://user:pw@host:8123/db"
    )
    warehouse_lock_timeout_seconds: float = 30.0

    # Secrets. Unset means generated once into `state_dir/secrets.json` (development only).
    jwt_secret: SecretStr | None = None
    encryption_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated `key_id:base64(32 bytes)`; the first one encrypts.",
    )
    blind_index_key: SecretStr | None = Field(
        default=None, description="base64 of 32+ bytes; keys exact-match search on SSNs."
    )
    extract_key: SecretStr | None = Field(
        default=None, description="base64 of 32+ bytes; keys extract pseudonyms and date shifts."
    )

    # Authentication policy.
    access_token_minutes: int = Field(default=10, ge=1, le=60)
    refresh_token_hours: int = Field(default=12, ge=1, le=24 * 30)
    idle_timeout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    lockout_threshold: int = Field(default=5, ge=1)
    lockout_minutes: int = Field(default=15, ge=1)
    password_min_length: int = Field(default=12, ge=8)
    token_rate_limit: str = "30/minute"  # noqa: S105 - a rate, not a secret
    jwt_issuer: str = "emr"
    jwt_audience: str = "emr-api"

    # HTTP.
    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    log_level: str = "INFO"

    # Claims clearinghouse. No URL means the offline gateway (deterministic, in-process).
    claim_gateway_url: str | None = Field(
        default=None, pattern=r"^https?://", description="POST endpoint for claims as JSON."
    )
    claim_gateway_timeout_seconds: float = Field(default=10.0, gt=0, le=120)


@lru_cache
def get_settings() -> Settings:
    return Settings()
