"""One Settings object, read from CLINIC_* environment variables."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
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


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
