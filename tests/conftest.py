"""Fixtures: a real SQLite file always, and real PostgreSQL when TEST_DATABASE_URL is set.

Migrating (and importing the demo content) is done once per backend into a template; each test
gets its own copy: a copied SQLite file, or a PostgreSQL database created from the template
database (`CREATE DATABASE ... TEMPLATE`) beside the one TEST_DATABASE_URL names."""

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.config import PROJECT_ROOT, Settings
from main import create_app
from tests.databases import Database, Kind, PostgresDatabases, SqliteDatabases

DEMO_CONTENT = PROJECT_ROOT / "content"
PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]
CRM_SECRET = "whsec_" + "Y3JtLWluYm91bmQtc2VjcmV0LWZvci10ZXN0cy0xMjM0"  # base64 test key
Databases = SqliteDatabases | PostgresDatabases


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


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A private copy of the demo content that a test may edit."""
    return Path(shutil.copytree(DEMO_CONTENT, tmp_path / "content"))


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test that needs a database runs once per configured backend."""
    return str(request.param)


@pytest.fixture(scope="session")
def databases(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    """Where this backend's test databases come from (templates are made on first use)."""
    source: Databases
    if backend == "sqlite":
        source = SqliteDatabases(tmp_path_factory.mktemp("sqlite-templates"), DEMO_CONTENT)
    else:
        assert PG_URL is not None
        source = PostgresDatabases(PG_URL, DEMO_CONTENT)
    yield source
    source.close()


def _own_database(
    request: pytest.FixtureRequest, databases: Databases, kind: Kind, folder: Path
) -> Iterator[Database]:
    """A database of this test's own; `database`, `migrated` and `seeded` are separate
    databases, so a test takes one of them."""
    taken = {"database", "migrated", "seeded"} & set(request.fixturenames)
    assert len(taken) == 1, f"{request.node.nodeid} uses {sorted(taken)}; use one of them"
    db = databases.take(kind, folder)
    yield db
    databases.drop(db)


@pytest.fixture
def database(
    request: pytest.FixtureRequest, databases: Databases, tmp_path: Path
) -> Iterator[Database]:
    """An empty, unmigrated database for one test."""
    yield from _own_database(request, databases, "empty", tmp_path)


@pytest.fixture
def migrated(
    request: pytest.FixtureRequest, databases: Databases, tmp_path: Path
) -> Iterator[Database]:
    """A database at the newest migration, with no content (a copy of a template)."""
    yield from _own_database(request, databases, "migrated", tmp_path)


@pytest.fixture
def seeded(
    request: pytest.FixtureRequest, databases: Databases, tmp_path: Path
) -> Iterator[Database]:
    """A migrated database with the demo content imported (a copy of a template)."""
    yield from _own_database(request, databases, "seeded", tmp_path)


@pytest.fixture(scope="session")
def shared_seeded(
    databases: Databases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """One seeded database per backend, shared by tests that only read."""
    db = databases.take("seeded", tmp_path_factory.mktemp(f"shared-{databases.backend}"))
    yield db
    databases.drop(db)


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
    """Build clients over this test's own seeded database, with setting overrides.

    The app's in-process webhook dispatcher is off unless the test turns it on
    (`webhook_dispatcher_enabled=True`): nothing is sent behind a test's back, and a test
    that delivers webhooks either runs the dispatcher or sends due deliveries itself with
    `tests.dispatch.drain`. (A running dispatcher also costs every app start and stop time.)"""
    clients: list[TestClient] = []

    def factory(peer: str = "testclient", **overrides: object) -> TestClient:
        settings = {"webhook_dispatcher_enabled": False, **overrides}
        c = TestClient(
            create_app(settings_for(seeded.url, **settings)),
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
    from services.access.api_keys import create_key

    def factory(*scopes: str, name: str = "test", reviewer: uuid.UUID | None = None) -> str:
        engine = seeded.engine()
        with unit_of_work(engine) as session:
            _, token = create_key(
                session=session, name=name, scopes=list(scopes), reviewer_id=reviewer
            )
        engine.dispose()
        return token

    return factory


@pytest.fixture
def add_reviewer(seeded: Database) -> Callable[..., uuid.UUID]:
    """Add a clinician to this test's reviewer registry; returns the record's id."""
    from db.session import unit_of_work
    from schemas.reviewers import ReviewerCreate
    from services.content import reviewers

    def factory(name: str = "Ana Ruiz", **fields: object) -> uuid.UUID:
        data = ReviewerCreate.model_validate(
            {"name": name, "credentials": "MD", "specialty": "Psychiatry", **fields}
        )
        engine = seeded.engine()
        with unit_of_work(engine) as session:
            reviewer_id = reviewers.add(session=session, data=data).id
        engine.dispose()
        return reviewer_id

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
        "consent": {
            "contact": True,
            "age_confirmed": True,
            "sms": False,
            "consent_version": "2026-12-07",
        },
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
