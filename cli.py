"""Operator commands: `python -m cli --help`."""

from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from core.config import get_settings
from core.errors import ContentError
from db import migrate as migrations
from db.session import make_engine
from services.content_import import import_content

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="Clinic Content & Leads API")


@cli.command()
def migrate() -> None:
    """Bring the database schema to the newest migration."""
    settings = get_settings()
    migrations.upgrade(settings.database_url)
    typer.echo(f"database at migration {migrations.head_revision(settings.database_url)}")


@cli.command("import-content")
def import_content_command(
    content_dir: Annotated[
        Path | None, typer.Option(help="Content folder (default: CLINIC_CONTENT_DIR).")
    ] = None,
) -> None:
    """Load taxonomies, disclaimers and articles from files; a bad file changes nothing."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        report = import_content(engine=engine, content_dir=content_dir or settings.content_dir)
    except ContentError as exc:
        typer.echo("content rejected, nothing was changed:", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        engine.dispose()
    typer.echo(
        f"created {len(report.created)}, updated {len(report.updated)}, "
        f"archived {len(report.archived)}, unchanged {report.unchanged}, "
        f"taxonomy changes {report.taxonomy_changes}, "
        f"disclaimer versions {', '.join(report.disclaimer_versions) or 'none'}"
    )


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
) -> None:
    """Migrate, import the content, then serve the API with uvicorn."""
    migrate()
    import_content_command(None)
    uvicorn.run("main:app", host=host, port=port, workers=workers, proxy_headers=False)


def main() -> None:
    """Entry point for `python -m cli`."""
    cli()


if __name__ == "__main__":
    main()
