"""One Settings object, read from CLINIC_* environment variables."""

import ipaddress
from functools import lru_cache
from pathlib import Path

from limits import parse_many
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Runtime configuration; every field can be set as CLINIC_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="CLINIC_", extra="ignore")

    name: str = "Clinic Content API"
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'data' / 'clinic.db'}"
    content_dir: Path = PROJECT_ROOT / "content"
    default_locale: str = "en"
    public_base_url: str = "http://127.0.0.1:8000"
    cors_origins: list[str] = Field(default_factory=list)
    cache_max_age: int = Field(default=60, ge=0)
    cache_stale_while_revalidate: int = Field(default=300, ge=0)
    max_body_bytes: int = Field(default=16 * 1024, ge=1024)
    log_level: str = "INFO"
    redis_url: str | None = None
    leads_rate_limit: str = "5/minute;30/day"
    rate_limit_namespace: str = "clinic"
    trusted_proxies: list[str] = Field(default_factory=list)
    phone_default_region: str = "US"
    idempotency_ttl_hours: int = Field(default=24, ge=1)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry.strip(), strict=False)  # raises a clear ValueError
        return value

    @field_validator("leads_rate_limit")
    @classmethod
    def _limits(cls, value: str) -> str:
        if value.strip().lower() != "none":
            parse_many(value)  # raises ValueError on bad notation
        return value


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
