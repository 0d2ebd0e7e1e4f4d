"""Fixtures: a real SQLite file always, and real PostgreSQL when TEST_DATABASE_URL is set."""

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from core.config import PROJECT_ROOT, Settings
from db.migrate import upgrade
from db.session import make_engine, normalize_url
from main import create_app
from tests.content_helpers import import_folder

DEMO_CONTENT = PROJECT_ROOT / "content"
PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]
# Personal data is encrypted under this master key in every test app, CLI run and server.
os.environ.setdefault("CLINIC_DATA_KEY", "dGVzdC1tYXN0ZXIta2V5LW9ubHktZm9yLXN1aXRlISE=")
CRM_SECRET = "whsec_" + "Y3JtLWluYm91bmQtc2VjcmV0LWZvci10ZXN0cy0xMjM0"  # base64 test key


class Database:
    """One isolated database: a SQLite file, or a fresh PostgreSQL schema."""

    def __init__(self, backend: str, folder: Path) -> None:
        self.backend = backend
        if backend == "sqlite":
            self.url = f"sqlite:///{folder / 'test.db'}"
            self.schema: str | None = None
            return
        assert PG_URL is not None
        self.schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        admin.dispose()
        url = make_url(normalize_url(PG_URL)).update_query_dict(
            {"options": f"-csearch_path={self.schema}"}
        )
        self.url = url.render_as_string(hide_password=False)

    def engine(self) -> Engine:
        """A new engine on this database (dispose it when done)."""
        return make_engine(self.url)

    def drop(self) -> None:
        """Remove the PostgreSQL schema (SQLite files go with tmp_path)."""
        if self.schema and PG_URL:
            admin = make_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            admin.dispose()


def settings_for(database_url: str, **overrides: object) -> Settings:
    """Settings for a test app, independent of the environment."""
    values: dict[str, object] = {
        "database_url": database_url,
        "content_dir": DEMO_CONTENT,
        "cors_origins": ["https://www.clinic.example"],
        "log_level": "INFO",
        "webhook_allow_private_urls": True,
        "crm_inbound_secret": CRM_SECRET,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test that needs a database runs once per configured backend."""
    return str(request.param)


@pytest.fixture
def database(backend: str, tmp_path: Path) -> Iterator[Database]:
    """An empty, unmigrated database for one test."""
    db = Database(backend, tmp_path)
    yield db
    db.drop()


@pytest.fixture
def migrated(database: Database) -> Database:
    """A database at the newest migration, with no content."""
    upgrade(database.url)
    return database


@pytest.fixture
def seeded(migrated: Database) -> Database:
    """A migrated database with the demo content imported."""
    engine = migrated.engine()
    import_folder(engine, DEMO_CONTENT)
    engine.dispose()
    return migrated


@pytest.fixture(scope="session")
def shared_seeded(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One seeded database per backend, shared by tests that only read."""
    db = Database(backend, tmp_path_factory.mktemp(f"shared-{backend}"))
    upgrade(db.url)
    engine = db.engine()
    import_folder(engine, DEMO_CONTENT)
    engine.dispose()
    yield db
    db.drop()


@pytest.fixture(scope="session")
def public_app(shared_seeded: Database) -> FastAPI:
    """The app over the shared, read-only demo database."""
    return create_app(settings_for(shared_seeded.url))


@pytest.fixture(scope="session")
def client(public_app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client for read-only tests (one per backend: its lifespan runs once)."""
    with TestClient(public_app) as c:
        yield c


@pytest.fixture
def make_client(seeded: Database) -> Iterator[Callable[..., TestClient]]:
    """Build clients over this test's own seeded database, with setting overrides."""
    clients: list[TestClient] = []

    def factory(peer: str = "testclient", **overrides: object) -> TestClient:
        c = TestClient(
            create_app(settings_for(seeded.url, **overrides)),
            raise_server_exceptions=False,
            client=(peer, 50000),
        )
        c.__enter__()
        clients.append(c)
        return c

    yield factory
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def issue_key(seeded: Database) -> Callable[..., str]:
    """Create an API key with the given scopes in this test's database; returns the token."""
    from db.session import unit_of_work
    from services.api_keys import create_key

    def factory(*scopes: str, name: str = "test") -> str:
        engine = seeded.engine()
        with unit_of_work(engine) as session:
            _, token = create_key(session=session, name=name, scopes=list(scopes))
        engine.dispose()
        return token

    return factory


def lead_body(**changes: object) -> dict[str, object]:
    """A valid consultation request body, with top-level fields replaced."""
    body: dict[str, object] = {
        "first_name": "Ana",
        "last_name": "Diaz",
        "email": "Ana.Diaz@Example.com",
        "phone": "(415) 555-0132",
        "preferred_contact_method": "phone",
        "preferred_time": "weekday evenings",
        "therapies": ["iv-ketamine"],
        "conditions": ["ptsd"],
        "message": "Flashbacks every night since the accident.",
        "consent": {"contact": True, "sms": False, "consent_version": "2026-11-01"},
        "source": {
            "article_slug": "iv-ketamine-for-ptsd",
            "page_url": "https://www.clinic.example/articles/iv-ketamine-for-ptsd",
            "referrer": "https://search.example/",
            "utm_source": "newsletter",
            "utm_medium": "email",
            "utm_campaign": "autumn",
            "channel": "web",
        },
        "website": "",
    }
    body.update(changes)
    return body
