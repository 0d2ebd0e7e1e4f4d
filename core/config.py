"""One Settings object, read from CLINIC_* environment variables."""

import ipaddress
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, StringConstraints, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.crypto import POSTGRES_NEEDS_A_KEY, CryptoKeyError, decode_key
from core.net import parse_http_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent


DEFAULT_CLINIC_NAME = "Example Clinic"
# Where `make run` serves: the links of webhooks sent without CLINIC_PUBLIC_BASE_URL.
LOCAL_BASE_URL = "http://127.0.0.1:8000"


# The file of CLINIC_* settings beside the environment (compose and honcho read the same one), so
# that `python -m cli …` reaches the database the servers use. The environment wins over it.
ENV_FILE = Path(".env")


class Settings(BaseSettings):
    """Runtime configuration; every field can be set as CLINIC_<NAME>.

    `Settings()` reads the environment only; `get_settings()` (the app's and the CLI's) reads
    ./.env beneath it too."""

    # hide_input_in_errors: a malformed key or URL must not be echoed into logs.
    model_config = SettingsConfigDict(
        env_prefix="CLINIC_", extra="ignore", hide_input_in_errors=True
    )

    # `production` turns the safe defaults of a deployment on: workers deliver webhooks and a
    # migrate job migrates (unless set otherwise), and it refuses to start without what
    # several processes need to share: PostgreSQL, and Redis for the rate limit.
    env: Literal["development", "production"] = "development"
    # The clinic's name: the consent and the privacy notice name it, and so does the JSON-LD.
    name: str = Field(default=DEFAULT_CLINIC_NAME, min_length=1, max_length=200)
    # Where people ask to see, correct or delete their data: the privacy notice says it.
    privacy_contact: str = Field(
        default="privacy@clinic.example (a demo address: set CLINIC_PRIVACY_CONTACT)",
        min_length=1,
        max_length=300,
    )
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'data' / 'clinic.db'}"
    content_dir: Path = PROJECT_ROOT / "content"
    default_locale: str = "en"
    # Where the API is reached from outside: the absolute URLs it hands out (previews, images,
    # the privacy notice, webhook links) are written on it; production requires it. Unset, a
    # response uses its request's own scheme and host, and webhook links LOCAL_BASE_URL.
    public_base_url: str | None = None
    # The consultation button's words by locale, e.g. {"en": "Request a free consultation"}:
    # whether to advertise a free service is the clinic's call (some states regulate it).
    # Unset for a locale, each article's own `call_to_action.button_label` is shown.
    cta_button_label: dict[
        Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-([A-Za-z]{2}|[0-9]{3}))?$")],
        Annotated[
            str, StringConstraints(min_length=1, max_length=80, pattern=r"^[^\x00-\x1f\x7f]+$")
        ],
    ] = Field(default_factory=dict)
    cors_origins: list[str] = Field(default_factory=list)
    cache_max_age: int = Field(default=60, ge=0)
    cache_stale_while_revalidate: int = Field(default=300, ge=0)
    # The public responses each process keeps ready, in MiB of bodies (all their encodings).
    response_cache_mb: int = Field(default=64, ge=1, le=65536)
    max_body_bytes: int = Field(default=16 * 1024, ge=1024)
    # An uploaded image's limit (POST /v1/admin/media). A request with an API key may send a
    # body that large (and the form around it); the key is checked by the route.
    media_max_mb: int = Field(default=15, ge=1, le=100)
    # Seconds a request body has to arrive in whole, once its headers have: the app reads it
    # before any route runs, so a slow sender holds no session or lock meanwhile; late is a 408.
    body_timeout: float = Field(default=10.0, gt=0, le=300)
    # The change feed keeps at least this many days; older entries are pruned at import, and a
    # cursor from before them answers 410 (resync from GET /v1/articles).
    changes_retention_days: int = Field(default=90, ge=1, le=3650)
    log_level: str = "INFO"
    # One JSON object per line for log shippers; `text` (key=value) for people reading along.
    log_format: Literal["json", "text"] = "json"
    # GET /metrics (Prometheus). Off by default: it tells anyone who asks how busy we are.
    metrics_enabled: bool = False
    # `cli worker` has no HTTP server of its own: with metrics enabled and a port set, it
    # serves its delivery metrics there (one port per worker process).
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    worker_metrics_address: str = "127.0.0.1"
    # `serve` migrates and imports the content before it serves. Off where a one-shot migrate
    # job does it (compose.yaml): replicas then never run migrations themselves.
    auto_migrate: bool = True
    redis_url: str | None = None
    leads_rate_limit: str = "5/minute;30/day"
    rate_limit_namespace: str = "clinic"
    trusted_proxies: list[str] = Field(default_factory=list)
    phone_default_region: str = "US"
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    webhook_dispatcher_enabled: bool = True
    webhook_allow_private_urls: bool = False
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Like Svix: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; each delay gets +/-20 % jitter.
    webhook_retry_schedule: list[float] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]
    )
    webhook_disable_after_hours: float = Field(default=120, gt=0)
    webhook_secret_grace_hours: float = Field(default=24, ge=0)
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    webhook_lease_margin_seconds: float = Field(default=30.0, gt=0)
    webhook_batch_size: int = Field(default=20, ge=1, le=500)
    # An attempt's whole time, connect to last byte read: a receiver that trickles its answer
    # is cut off, however often it sends a byte (the timeout above counts each read alone).
    webhook_attempt_deadline_seconds: float = Field(default=15.0, gt=0, le=300)
    # Deliveries in flight to one endpoint at once, per process: a slow endpoint slows itself.
    webhook_endpoint_concurrency: int = Field(default=4, ge=1, le=100)
    # Master key for personal data (base64, 32 bytes). Unset with SQLite: a local key file is
    # created under data/; unset with PostgreSQL: the app refuses to start.
    data_key: SecretStr | None = None
    # Keys being rotated away from: still accepted until `rotate-data-key` has re-wrapped all.
    data_key_previous: list[SecretStr] = Field(default_factory=list)
    data_key_file: Path = PROJECT_ROOT / "data" / "data-key"
    crm_inbound_secret: str | None = None
    crm_inbound_tolerance_seconds: int = Field(default=300, ge=1)

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = parse_http_url(value.strip())  # ValueError says what is wrong
        # On the text, not httpx's parts: an empty `?` or `#` would be written into every link.
        if "?" in value or "#" in value or url.userinfo:
            raise ValueError(
                "a base URL has no query, fragment or user name, e.g. https://api.example.org"
            )
        return str(url).rstrip("/")

    @property
    def event_base_url(self) -> str:
        """The base of webhook payloads' links (sent from no request of their own)."""
        return self.public_base_url or LOCAL_BASE_URL

    @field_validator("redis_url", "data_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `CLINIC_REDIS_URL=` in an .env file means "none", not a Redis at "".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("data_key", "data_key_previous")
    @classmethod
    def _keys_decode(cls, value: SecretStr | list[SecretStr] | None) -> object:
        # A malformed key is a configuration error named at start-up, not a traceback later.
        for key in value if isinstance(value, list) else [value] if value else []:
            try:
                decode_key(key.get_secret_value())
            except CryptoKeyError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry.strip(), strict=False)  # raises a clear ValueError
        return value

    @field_validator("leads_rate_limit")
    @classmethod
    def _limits(cls, value: str) -> str:
        from limits import parse_many  # imported here: most CLI commands never need it

        if value.strip().lower() != "none":
            parse_many(value)  # raises ValueError on bad notation
        return value

    @property
    def keyed_max_body_bytes(self) -> int:
        """The body cap of a request with an API key: an image upload and the form around it
        (an article's JSON is far smaller; its fields are bounded)."""
        return max(self.max_body_bytes, self.media_max_mb * 1024 * 1024 + 64 * 1024)

    @property
    def idempotency_ttl(self) -> timedelta:
        """How long an Idempotency-Key is remembered (CLINIC_IDEMPOTENCY_TTL_HOURS)."""
        return timedelta(hours=self.idempotency_ttl_hours)

    @property
    def uses_sqlite(self) -> bool:
        """The embedded default (a file), rather than a server that several processes share."""
        return self.database_url.startswith("sqlite")

    @model_validator(mode="after")
    def _key_for_a_shared_database(self) -> "Settings":
        # Checked with the rest of the configuration, so that `serve` and `migrate` fail before
        # they touch the database, not once the schema and content are in. (Production lists
        # it among everything it needs, below.)
        if self.data_key is None and not self.uses_sqlite and self.env != "production":
            raise ValueError(POSTGRES_NEEDS_A_KEY)
        return self

    @model_validator(mode="after")
    def _production(self) -> "Settings":
        if self.env != "production":
            return self
        chosen = self.model_fields_set
        if "webhook_dispatcher_enabled" not in chosen:
            self.webhook_dispatcher_enabled = False  # `cli worker` processes deliver
        if "auto_migrate" not in chosen:
            self.auto_migrate = False  # a migrate job runs once per release
        problems = []
        if not self.database_url.startswith(("postgresql", "postgres:")):
            problems.append("CLINIC_DATABASE_URL must name PostgreSQL")
        if not self.redis_url and self.leads_rate_limit.strip().lower() != "none":
            problems.append(
                "CLINIC_REDIS_URL must be set: each process would otherwise count the lead "
                "rate limit on its own"
            )
        if self.public_base_url is None:
            problems.append(
                "CLINIC_PUBLIC_BASE_URL must be set: previews, images and the privacy notice "
                "are linked on it, never on a Host header a client sent"
            )
        if self.data_key is None:
            problems.append(
                "CLINIC_DATA_KEY must be set (python -m cli new-data-key makes one): a key "
                "file on one machine's disk cannot be shared"
            )
        # The consent a lead agrees to, and the privacy notice, name these: never the demo's.
        for name, value in (("name", self.name), ("privacy_contact", self.privacy_contact)):
            if name not in chosen or value == type(self).model_fields[name].default:
                problems.append(
                    f"CLINIC_{name.upper()} must be set: the consent and the privacy notice name it"
                )
        if problems:
            raise ValueError("CLINIC_ENV=production: " + "; ".join(problems))
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment and ./.env."""
    return Settings(_env_file=ENV_FILE)
