"""Operator commands: `python -m cli --help`."""

import asyncio
import logging
import os
import signal
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy import Engine, make_url

from core.config import Settings, get_settings
from core.crypto import encode_key, key_ring, new_key
from core.errors import ConflictError, ContentError, NotFoundError, ValidationFailedError
from core.logging import configure_logging
from db.session import make_engine, read_session, unit_of_work
from schemas.vocabulary import ApiKeyState, AuditAction, HiddenLeads, LeadStatus
from services.access import api_keys, audit

# Heavier modules (Alembic, the content pipeline, the dispatcher, uvicorn) are imported inside
# the commands that use them, so that every other command starts in a fraction of a second.

# Plain tracebacks under --debug: Rich's pretty ones would print local variables (settings...).
cli = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Clinic Content & Leads API",
)


@dataclass
class _Options:
    debug: bool = False


_options = _Options()


@cli.callback()
def _global_options(
    debug: Annotated[
        bool, typer.Option("--debug", help="On an unexpected error, show its traceback.")
    ] = False,
) -> None:
    _options.debug = debug


def settings_or_exit() -> Settings:
    """The settings, or exit 2 naming each CLINIC_* variable that is wrong (no traceback: the
    operator's fix is in the environment, not the code)."""
    try:
        return get_settings()
    except SettingsError as exc:  # a value the environment source cannot parse (a list...)
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            name = f"CLINIC_{where.upper()}: " if where else ""
            # A rule of ours says its own words; pydantic would prefix them with "Value error, ".
            reason = error.get("ctx", {}).get("error", error["msg"])
            typer.echo(f"configuration error: {name}{reason}", err=True)
        raise typer.Exit(2) from None


def database_url_named(settings: Settings) -> str:
    """The configured database URL, first named on stderr without its password: an operator
    sees which database a command changes (the environment's, or ./.env's)."""
    url = make_url(settings.database_url)
    if "password" in url.query:  # libpq also takes it as ?password=
        url = url.update_query_dict({"password": "***"})
    shown = url.render_as_string(hide_password=True)
    typer.echo(f"database: {shown}", err=True)
    return settings.database_url


def open_database(settings: Settings) -> Engine:
    """An engine on the configured database, named on stderr first."""
    return make_engine(database_url_named(settings))


@cli.command()
def migrate(
    create_database: Annotated[
        bool,
        typer.Option(
            help="Create the PostgreSQL database first when the server has none of that name "
            "(make cluster does; a deployment's migrate job should not)."
        ),
    ] = False,
) -> None:
    """Bring the database schema to the newest migration."""
    from db import migrate as migrations

    url = database_url_named(settings_or_exit())
    if create_database and migrations.create_database_if_missing(url):
        typer.echo(f"created database {make_url(url).database}")
    migrations.upgrade(url)
    typer.echo(f"database at migration {migrations.head_revision()}")


@cli.command("import-content")
def import_content_command(
    content_dir: Annotated[
        Path | None, typer.Option(help="Content folder (default: CLINIC_CONTENT_DIR).")
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            help="Review rules (always on with CLINIC_ENV=production): every published article "
            "approved, not overdue for review, not published before its approval. Production "
            "also refuses approvals by placeholder (demo) reviewers."
        ),
    ] = False,
) -> None:
    """Load taxonomies, disclaimers and articles from files; a bad file changes nothing."""
    from services.content.importer import import_content

    settings = settings_or_exit()
    engine = open_database(settings)
    folder = content_dir or settings.content_dir
    try:
        with unit_of_work(engine) as session:
            report = import_content(
                session=session,
                content_dir=folder,
                strict=strict,
                production=settings.env == "production",
                retention=timedelta(days=settings.changes_retention_days),
            )
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
        + (
            f"; unused image renditions removed {report.media_removed}"
            if report.media_removed
            else ""
        )
        + (
            f"; consent versions {', '.join(report.consent_versions)}"
            if report.consent_versions
            else ""
        )
        + (f"; legal texts {', '.join(report.legal_versions)}" if report.legal_versions else "")
        + (f"; reviewers {report.reviewers}" if report.reviewers else "")
        + (f"; approvals {report.approvals}" if report.approvals else "")
        + (
            f"; approvals of older content {report.stale_approvals}"
            if report.stale_approvals
            else ""
        )
    )
    if report.unapproved:
        typer.echo(
            "published without an approval of their content (refused with CLINIC_ENV="
            f"production): {', '.join(report.unapproved)}",
            err=True,
        )


@cli.command("export-content")
def export_content_command(
    out: Annotated[Path, typer.Option(help="The folder to write (import-content's layout).")],
) -> None:
    """Write what the database holds as a content folder: taxonomies, disclaimers, consent
    texts, articles (the revision each shows), images, reviewers and approvals."""
    from services.content.export import export_content

    engine = open_database(settings_or_exit())
    try:
        with read_session(engine) as session:
            report = export_content(session=session, out=out)
    finally:
        engine.dispose()
    typer.echo(
        f"wrote {out}: {report.articles} articles, {report.images} images, "
        f"{report.reviewers} reviewers, {report.approvals} approvals"
    )


@cli.command("create-api-key")
def create_api_key(
    name: Annotated[str, typer.Option(help="Who or what uses the key, e.g. 'CRM'.")],
    scopes: Annotated[str, typer.Option(help=f"Comma-separated: {', '.join(api_keys.SCOPES)}.")],
    expires_in: Annotated[
        str | None, typer.Option(help="Lifetime such as 90d, 12h or 30m (default: no expiry).")
    ] = None,
    reviewer: Annotated[
        uuid.UUID | None,
        typer.Option(help="The reviewer a content:review key acts for (see list-reviewers)."),
    ] = None,
) -> None:
    """Create an API key and print it once, alone on the last line."""
    lifetime = _duration(expires_in) if expires_in else None
    engine = open_database(settings_or_exit())
    try:
        with unit_of_work(engine) as session:
            key, token = api_keys.create_key(
                session=session,
                name=name,
                scopes=[s.strip() for s in scopes.split(",") if s.strip()],
                expires_in=lifetime,
                reviewer_id=reviewer,
            )
            audit.record(
                session=session,
                actor=None,
                action=AuditAction.API_KEY_CREATE,
                detail={"via": "cli", "key_id": str(key.id), "scopes": key.scopes},
            )
    except ValidationFailedError as exc:
        typer.echo(f"error: {exc.extra['errors'][0]['message']}", err=True)
        raise typer.Exit(code=2) from None
    finally:
        engine.dispose()
    typer.echo(
        f"created API key {key.id} '{key.name}' prefix {key.prefix} scopes {','.join(key.scopes)}"
    )
    typer.echo("store it now; it is not shown again:")
    typer.echo(token)


def _duration(text: str) -> timedelta:
    """`90d`, `12h`, `30m` as a timedelta; anything else is a usage error."""
    units = {"d": "days", "h": "hours", "m": "minutes"}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isdigit() or int(number) < 1:
        raise typer.BadParameter("use a whole number and d, h or m, e.g. 90d")
    return timedelta(**{units[unit]: int(number)})


@cli.command("add-reviewer")
def add_reviewer(
    name: Annotated[str, typer.Option(help="As articles should name them, e.g. 'Ana Ruiz'.")],
    credentials: Annotated[str, typer.Option(help="e.g. MD, DO, NP, PharmD.")],
    specialty: Annotated[str, typer.Option(help="e.g. Psychiatry.")],
    npi: Annotated[str | None, typer.Option(help="National Provider Identifier.")] = None,
    licence_state: Annotated[str | None, typer.Option(help="Two letters, e.g. CA.")] = None,
    licence_number: Annotated[str | None, typer.Option()] = None,
    profile_url: Annotated[str | None, typer.Option()] = None,
    placeholder: Annotated[bool, typer.Option(help="A demo record, never a real person.")] = False,
) -> None:
    """Add a clinician to the reviewer registry; prints the new id alone on the last line."""
    from schemas.reviewers import ReviewerCreate
    from services.content import reviewers

    try:
        data = ReviewerCreate(
            name=name,
            credentials=credentials,
            specialty=specialty,
            npi=npi,
            licence_state=licence_state,
            licence_number=licence_number,
            profile_url=profile_url,
            placeholder=placeholder,
        )
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(
                f"error: --{str(error['loc'][0]).replace('_', '-')}: {error['msg']}", err=True
            )
        raise typer.Exit(code=2) from None
    engine = open_database(settings_or_exit())
    try:
        with unit_of_work(engine) as session:
            record = reviewers.add(session=session, data=data)
            reviewer_id = record.id
    except ConflictError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    finally:
        engine.dispose()
    typer.echo(f"added reviewer '{data.name}', {data.credentials} ({data.specialty})")
    typer.echo(str(reviewer_id))


@cli.command("list-reviewers")
def list_reviewers() -> None:
    """Every reviewer: id, name, credentials, specialty, NPI, and whether a placeholder."""
    from services.content import reviewers

    engine = open_database(settings_or_exit())
    try:
        with read_session(engine) as session:
            for r in reviewers.every(session=session):
                flag = " placeholder" if r.placeholder else ""
                npi = f" npi {r.npi}" if r.npi else ""
                typer.echo(f"{r.id}  {r.name}, {r.credentials} ({r.specialty}){npi}{flag}")
    finally:
        engine.dispose()


@cli.command("list-api-keys")
def list_api_keys() -> None:
    """List keys (never the keys themselves)."""
    engine = open_database(settings_or_exit())
    with unit_of_work(engine) as session:
        for key in api_keys.list_keys(session=session):
            state = ApiKeyState.REVOKED if key.revoked_at else ApiKeyState.ACTIVE
            typer.echo(f"{key.id}  {key.prefix}  {state:7}  {','.join(key.scopes):40}  {key.name}")
    engine.dispose()


@cli.command("revoke-api-key")
def revoke_api_key(
    key: Annotated[str, typer.Argument(help="The key's id or prefix.")],
) -> None:
    """Revoke a key by id or prefix; it stops working at once."""
    engine = open_database(settings_or_exit())
    try:
        with unit_of_work(engine) as session:
            row = api_keys.revoke(session=session, key_ref=key)
            audit.record(
                session=session,
                actor=None,
                action=AuditAction.API_KEY_REVOKE,
                detail={"via": "cli", "key_id": str(row.id)},
            )
            typer.echo(f"revoked {row.id} ({row.prefix})")
    except NotFoundError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        engine.dispose()


@cli.command("export-leads")
def export_leads(
    out: Annotated[Path, typer.Option(help="CSV file to write (it holds personal data).")],
    status: Annotated[LeadStatus | None, typer.Option(help="Only leads with this status.")] = None,
    include: Annotated[
        list[HiddenLeads] | None,
        typer.Option(help="Also export spam or erased (tombstone) leads; repeat for both."),
    ] = None,
) -> None:
    """Write leads to a CSV file (spam and erased ones only when included); the export is
    audited like one made over the API."""
    from services.leads import staff

    settings = settings_or_exit()
    ring = key_ring(settings)
    engine = open_database(settings)
    filters = staff.LeadFilters(status=status, include=frozenset(include or ()))
    with unit_of_work(engine) as session:
        staff.audit_export(session=session, actor=None, filters=filters, via="cli")
    # The file holds personal data: readable by its owner only.
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(descriptor, "w", encoding="utf-8", newline="") as handle:
        lines = staff.csv_lines(sessions=partial(read_session, engine), ring=ring, filters=filters)
        rows = sum(1 for line in lines if handle.write(line)) - 1
    engine.dispose()
    typer.echo(f"wrote {rows} lead(s) to {out}")


@cli.command("new-data-key")
def new_data_key() -> None:
    """Print a fresh master key for CLINIC_DATA_KEY (keep it in your secret store)."""
    typer.echo(encode_key(new_key()))


@cli.command("rotate-data-key")
def rotate_data_key() -> None:
    """Re-wrap every lead's data key and re-seal webhook secrets under CLINIC_DATA_KEY.

    Set the new key as CLINIC_DATA_KEY and the old one in CLINIC_DATA_KEY_PREVIOUS (a JSON
    list); both open data meanwhile, so the API keeps serving. Re-run until it moves 0, then
    drop the old key."""
    from services.leads import vault
    from services.webhooks import endpoints as webhook_endpoints

    settings = settings_or_exit()
    ring = key_ring(settings)
    engine = open_database(settings)
    moved = endpoints = 0
    unopenable: set[uuid.UUID] = set()
    while True:  # batches keep each transaction short
        with unit_of_work(engine) as session:
            batch = vault.rewrap_all(session=session, ring=ring, limit=500, skip=unopenable)
            endpoints += webhook_endpoints.reseal_all(session=session, ring=ring)
        moved += batch.moved
        unopenable.update(batch.unopenable)
        if not batch.moved and not batch.unopenable:
            break
    engine.dispose()
    if unopenable:  # ids only: they name no person
        typer.echo(
            f"{len(unopenable)} lead key(s) would not unwrap (damaged, or under a master key "
            f"not configured), left as they were: {', '.join(sorted(map(str, unopenable)))}"
        )
    typer.echo(
        f"re-wrapped {moved} lead key(s) and {endpoints} endpoint secret(s) under {ring.current.id}"
    )


@cli.command("prune-idempotency-keys")
def prune_idempotency_keys() -> None:
    """Delete Idempotency-Key records past CLINIC_IDEMPOTENCY_TTL_HOURS (workers, and the API
    when it dispatches webhooks itself, do it every 10 minutes)."""
    from db.models import utcnow
    from services.leads import idempotency

    settings = settings_or_exit()
    engine = open_database(settings)
    ttl = settings.idempotency_ttl
    with unit_of_work(engine) as session:
        removed = idempotency.prune_expired(session=session, now=utcnow(), ttl=ttl)
    engine.dispose()
    typer.echo(f"deleted {removed} expired Idempotency-Key record(s)")


@cli.command()
def worker() -> None:
    """Deliver webhooks and prune expired Idempotency-Key records until stopped
    (SIGTERM/SIGINT); run as many as you need."""
    from api.links import event_links_builder
    from api.tracing import start_tracing
    from services.webhooks.attempts import DispatchConfig
    from services.webhooks.dispatcher import delivering

    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    engine = open_database(settings)
    links = event_links_builder(settings.event_base_url)
    config = DispatchConfig.from_settings(settings, links=links, ring=key_ring(settings))
    stop_tracing = start_tracing("clinic-worker", engine)
    if settings.metrics_enabled and settings.worker_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_address)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        ttl = settings.idempotency_ttl
        async with delivering(
            engine, config, idempotency_ttl=ttl, production=settings.env == "production"
        ):
            await stop.wait()

    # One JSON line like every other (CLINIC_LOG_FORMAT), not a bare print.
    logging.getLogger("clinic.worker").info(
        "worker_started", extra={"production": settings.env == "production"}
    )
    asyncio.run(main())
    if stop_tracing is not None:
        stop_tracing()
    engine.dispose()


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
) -> None:
    """Migrate and import the content (unless CLINIC_AUTO_MIGRATE=false), then serve the API
    with uvicorn."""
    import uvicorn

    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    if settings.auto_migrate:
        migrate()  # each names the database
        import_content_command(None, strict=False)
    else:
        database_url_named(settings)
    if workers > 1 and settings.metrics_enabled:
        _share_metrics_between_workers()
    # The app logs each request itself (never its query: it may hold an email); uvicorn's own
    # access log would repeat the line with the query string. log_config=None: uvicorn's
    # records go through the app's handler, in the same format.
    uvicorn.run(
        "main:app",
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
        access_log=False,
        log_config=None,
    )


def _share_metrics_between_workers() -> None:
    """prometheus-client's multiprocess mode: every worker writes its samples into one fresh
    folder (inherited through the environment), and a scrape of any worker reads them all."""
    import tempfile

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder is None:
        folder = tempfile.mkdtemp(prefix="clinic-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    for stale in Path(folder).glob("*.db"):  # a previous run's counts are not this run's
        stale.unlink()


@cli.command()
def openapi(
    out: Annotated[
        Path | None, typer.Option(help="Write the document here instead of stdout.")
    ] = None,
) -> None:
    """Print the OpenAPI document the app serves (`make openapi` keeps openapi.json in step)."""
    import orjson
    from pydantic import SecretStr

    from main import create_app

    # The document does not depend on the database or the key: an in-memory database and a
    # throwaway key keep this command from touching ./data.
    settings = settings_or_exit().model_copy(
        update={"database_url": "sqlite://", "data_key": SecretStr(encode_key(new_key()))}
    )
    document = orjson.dumps(
        create_app(settings).openapi(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
    )
    if out is None:
        typer.echo(document.decode())
    else:
        out.write_bytes(document + b"\n")


def main() -> None:
    """Entry point for `python -m cli`: an unexpected error is one line on stderr and exit 1
    (`--debug` shows its traceback instead)."""
    try:
        cli()
    except Exception as exc:
        if _options.debug:
            raise
        # The first line only: a database error's next lines quote SQL and its detail.
        first = next(iter(str(exc).splitlines()), "")
        typer.echo(f"error: {type(exc).__name__}: {first} (--debug shows where)", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
