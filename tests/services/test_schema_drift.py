"""The migrations build exactly the schema the models describe, on each backend: a column
the models widen (a BIGINT id) but a migration leaves narrow fails here, not in production."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from db import editorial_models, lead_models, models, webhook_models  # noqa: F401  (register the tables)
from db.migrate import include_object


def test_migrations_match_the_models(migrated):
    engine = migrated.engine()
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": include_object, "compare_type": True}
        )
        differences = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert differences == []
