"""Public taxonomy endpoints: therapies, conditions, disclaimers (served from the cache)."""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from api.deps import LocaleDep, SettingsDep
from api.links import ContentLinkBuilder
from api.response_cache import serve_cached
from schemas.common import problem_responses
from schemas.taxonomy import (
    ConditionDetail,
    ConditionList,
    DisclaimerList,
    TherapyDetail,
    TherapyList,
)
from schemas.vocabulary import Slug
from services.content import disclaimers, taxonomy

router = APIRouter(prefix="/v1")
SlugPath = Annotated[Slug, Path()]


@router.get(
    "/therapies",
    name="list_therapies",
    tags=["taxonomy"],
    summary="List therapies",
    response_model=TherapyList,
    responses=problem_responses(304, 422),
)
async def list_therapies(request: Request, settings: SettingsDep, locale: LocaleDep) -> Response:
    """Every therapy the clinic offers, with its regulatory note and hero image, in the
    negotiated locale's words (the default locale's where a therapy has no translation)."""
    links = ContentLinkBuilder.for_request(request, settings)
    return await serve_cached(
        request,
        ("therapies", locale),
        lambda session: TherapyList(
            data=taxonomy.list_therapies(session=session, links=links, locale=locale)
        ),
    )


@router.get(
    "/therapies/{slug}",
    name="get_therapy",
    tags=["taxonomy"],
    summary="Get a therapy",
    response_model=TherapyDetail,
    responses=problem_responses(304, 404, 422),
)
async def get_therapy(
    request: Request, settings: SettingsDep, locale: LocaleDep, slug: SlugPath
) -> Response:
    """A therapy with its hero image and its published articles, in the negotiated locale."""
    links = ContentLinkBuilder.for_request(request, settings)
    return await serve_cached(
        request,
        ("therapy", slug, locale),
        lambda session: taxonomy.get_therapy(
            session=session, slug=slug, locale=locale, links=links
        ),
    )


@router.get(
    "/conditions",
    name="list_conditions",
    tags=["taxonomy"],
    summary="List conditions",
    response_model=ConditionList,
    responses=problem_responses(304, 422),
)
async def list_conditions(request: Request, locale: LocaleDep) -> Response:
    """Every condition the articles discuss, in the negotiated locale's words (the default
    locale's where a condition has no translation)."""
    return await serve_cached(
        request,
        ("conditions", locale),
        lambda session: ConditionList(
            data=taxonomy.list_conditions(session=session, locale=locale)
        ),
    )


@router.get(
    "/conditions/{slug}",
    name="get_condition",
    tags=["taxonomy"],
    summary="Get a condition",
    response_model=ConditionDetail,
    responses=problem_responses(304, 404, 422),
)
async def get_condition(request: Request, locale: LocaleDep, slug: SlugPath) -> Response:
    """A condition with its published articles, in the negotiated locale."""
    return await serve_cached(
        request,
        ("condition", slug, locale),
        lambda session: taxonomy.get_condition(session=session, slug=slug, locale=locale),
    )


@router.get(
    "/disclaimers",
    name="list_disclaimers",
    tags=["disclaimers"],
    summary="List current disclaimers",
    response_model=DisclaimerList,
    responses=problem_responses(304, 422),
)
async def list_disclaimers(request: Request, locale: LocaleDep) -> Response:
    """The current version of every disclaimer in the negotiated locale and the rule that
    attaches it to articles."""
    return await serve_cached(
        request,
        ("disclaimers", locale),
        lambda session: DisclaimerList(
            locale=locale, data=disclaimers.list_current(session=session, locale=locale)
        ),
    )
