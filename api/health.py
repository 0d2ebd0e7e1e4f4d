"""Liveness and readiness probes."""

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text
from starlette.responses import JSONResponse

from api.problems import problem_response
from db.migrate import current_revision
from schemas.common import problem_responses

router = APIRouter(tags=["health"])


class HealthStatus(BaseModel):
    """Probe result."""

    status: str
    migration: str | None = None


@router.get("/healthz", name="healthz", summary="Liveness probe", response_model=HealthStatus)
async def healthz() -> HealthStatus:
    """The process is up and serving."""
    return HealthStatus(status="ok")


@router.get(
    "/readyz",
    name="readyz",
    summary="Readiness probe",
    response_model=HealthStatus,
    responses={503: problem_responses(503)[503]},
)
def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is at the newest migration."""
    engine = request.app.state.engine
    head = request.app.state.migration_head
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current = current_revision(engine)
    except Exception:
        return problem_response(
            status=503,
            title="Service Unavailable",
            code="database_unavailable",
            detail="The database does not answer.",
            instance="/readyz",
        )  # type: ignore[return-value]
    if current != head:
        return problem_response(  # type: ignore[return-value]
            status=503,
            title="Service Unavailable",
            code="migrations_pending",
            detail=f"Database at {current}, code expects {head}.",
            instance="/readyz",
        )
    return JSONResponse({"status": "ready", "migration": current})
