"""Public article endpoints, served from the response cache."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlmodel import Session
from starlette.responses import Response

from api.deps import LocaleDep, PaginationDep, SettingsDep
from api.links import page_links
from api.response_cache import article_key, list_key, serve_cached
from schemas.articles import ArticleList, ArticlePublic, SectionWithContext
from schemas.common import PageMeta, problem_responses
from schemas.vocabulary import ArticleSlug, ArticleSort, Slug
from services import articles

router = APIRouter(prefix="/v1/articles", tags=["articles"])

SlugPath = Annotated[ArticleSlug, Path(examples=["iv-ketamine-for-ptsd"])]
TermQuery = Annotated[Slug | None, Query()]


@router.get(
    "",
    name="list_articles",
    summary="List published articles",
    response_model=ArticleList,
    responses=problem_responses(304, 422, 503),
)
async def list_articles(
    request: Request,
    locale: LocaleDep,
    pagination: PaginationDep,
    therapy: Annotated[TermQuery, Query(description="Therapy slug, e.g. `iv-ketamine`.")] = None,
    condition: Annotated[TermQuery, Query(description="Condition slug, e.g. `ptsd`.")] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description=(
                "Full-text search over title, summary, sections; each hit carries a `snippet`."
            ),
        ),
    ] = None,
    sort: Annotated[
        ArticleSort | None,
        Query(description="`relevance` (the default with `q`) or `newest` (the default without)."),
    ] = None,
) -> Response:
    """Published articles as summaries (no section bodies): newest first, or with `q` the most
    relevant first. A search counts its hits exactly up to 1,000 (`meta.total_is_estimate`)."""
    filters = articles.ArticleFilters(
        locale=locale, therapy=therapy, condition=condition, q=q, sort=sort
    )

    def build(session: Session) -> ArticleList:
        found = articles.list_published(
            session=session,
            filters=filters,
            page=pagination.page,
            page_size=pagination.page_size,
        )
        meta = PageMeta(
            total=found.total,
            page=pagination.page,
            page_size=pagination.page_size,
            total_is_estimate=found.total_is_estimate,
        )
        return ArticleList(
            data=found.items,
            meta=meta,
            links=page_links(request.url.path, request.query_params, meta),
        )

    return await serve_cached(request, list_key(request.url.query), build)


@router.get(
    "/{slug}",
    name="get_article",
    summary="Get a published article",
    response_model=ArticlePublic,
    responses=problem_responses(304, 404, 422, 503),
)
async def get_article(
    request: Request, settings: SettingsDep, locale: LocaleDep, slug: SlugPath
) -> Response:
    """The whole article: ordered sections, review, SEO, JSON-LD and its required disclaimers."""
    return await serve_cached(
        request,
        article_key(slug, locale),
        lambda session: articles.get_published(
            session=session, slug=slug, locale=locale, clinic_name=settings.name
        ),
    )


@router.get(
    "/{slug}/sections/{key}",
    name="get_article_section",
    summary="Get one section of a published article",
    response_model=SectionWithContext,
    responses=problem_responses(304, 404, 422, 503),
)
async def get_article_section(
    request: Request,
    locale: LocaleDep,
    slug: SlugPath,
    key: Annotated[Slug, Path(examples=["fear-extinction"])],
) -> Response:
    """One section by its stable key (the anchor used on the page), with the references it
    cites and the whole article's disclaimers, which must be shown with it."""
    return await serve_cached(
        request,
        ("section", slug, locale, key),
        lambda session: articles.get_section(session=session, slug=slug, locale=locale, key=key),
    )
