"""Liveness and readiness probes."""

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import JSONResponse, Response

from api.problems import problem_response
from schemas.common import problem_responses
from schemas.vocabulary import Readiness
from services import health

router = APIRouter(tags=["health"])


class HealthStatus(BaseModel):
    """Probe result."""

    status: Readiness
    migration: str | None = None


@router.get("/healthz", name="healthz", summary="Liveness probe", response_model=HealthStatus)
async def healthz() -> HealthStatus:
    """The process is up and serving."""
    return HealthStatus(status=Readiness.ALIVE)


@router.get(
    "/readyz",
    name="readyz",
    summary="Readiness probe",
    response_model=HealthStatus,
    responses={503: problem_responses(503)[503]},
)
def readyz(request: Request) -> Response:
    """The database answers and its schema is at the newest migration."""
    report = health.check(
        engine=request.app.state.engine, expected=request.app.state.migration_head
    )
    if report.state == Readiness.READY:
        return JSONResponse({"status": report.state, "migration": report.current})
    detail = (
        "The database does not answer."
        if report.state == Readiness.DATABASE_UNAVAILABLE
        else f"Database at {report.current}, code expects {report.expected}."
    )
    return problem_response(
        status=503,
        title="Service Unavailable",
        code=report.state,
        detail=detail,
        instance="/readyz",
    )
