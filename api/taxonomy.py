"""Public taxonomy endpoints: therapies, conditions, disclaimers."""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from api.deps import SLUG_PATTERN, LocaleDep, SessionDep, SettingsDep
from api.http_cache import cached_json
from schemas.common import problem_responses
from schemas.taxonomy import (
    ConditionDetail,
    ConditionList,
    DisclaimerList,
    TherapyDetail,
    TherapyList,
)
from services import disclaimers, taxonomy

router = APIRouter(prefix="/v1")
SlugPath = Annotated[str, Path(pattern=SLUG_PATTERN, max_length=80)]


@router.get(
    "/therapies",
    name="list_therapies",
    tags=["taxonomy"],
    summary="List therapies",
    response_model=TherapyList,
    responses=problem_responses(304),
)
def list_therapies(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Every therapy the clinic offers, with its regulatory note."""
    return cached_json(
        request, TherapyList(data=taxonomy.list_therapies(session=session)), settings
    )


@router.get(
    "/therapies/{slug}",
    name="get_therapy",
    tags=["taxonomy"],
    summary="Get a therapy",
    response_model=TherapyDetail,
    responses=problem_responses(304, 404, 422),
)
def get_therapy(
    request: Request, session: SessionDep, settings: SettingsDep, locale: LocaleDep, slug: SlugPath
) -> Response:
    """A therapy with its published articles."""
    therapy = taxonomy.get_therapy(session=session, slug=slug, locale=locale)
    return cached_json(request, therapy, settings)


@router.get(
    "/conditions",
    name="list_conditions",
    tags=["taxonomy"],
    summary="List conditions",
    response_model=ConditionList,
    responses=problem_responses(304),
)
def list_conditions(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Every condition the articles discuss."""
    data = ConditionList(data=taxonomy.list_conditions(session=session))
    return cached_json(request, data, settings)


@router.get(
    "/conditions/{slug}",
    name="get_condition",
    tags=["taxonomy"],
    summary="Get a condition",
    response_model=ConditionDetail,
    responses=problem_responses(304, 404, 422),
)
def get_condition(
    request: Request, session: SessionDep, settings: SettingsDep, locale: LocaleDep, slug: SlugPath
) -> Response:
    """A condition with its published articles."""
    condition = taxonomy.get_condition(session=session, slug=slug, locale=locale)
    return cached_json(request, condition, settings)


@router.get(
    "/disclaimers",
    name="list_disclaimers",
    tags=["disclaimers"],
    summary="List current disclaimers",
    response_model=DisclaimerList,
    responses=problem_responses(304),
)
def list_disclaimers(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """The current version of every disclaimer and the rule that attaches it to articles."""
    data = DisclaimerList(data=disclaimers.list_current(session=session))
    return cached_json(request, data, settings)
