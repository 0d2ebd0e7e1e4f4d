"""Public article endpoints, served from the response cache."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlmodel import Session
from starlette.responses import Response

from api.deps import LocaleDep, PaginationDep, SettingsDep
from api.links import ContentLinkBuilder, page_links
from api.response_cache import article_key, list_key, serve_cached
from schemas.articles import ArticleList, ArticlePublic, SectionWithContext
from schemas.common import PageMeta, problem_responses
from schemas.vocabulary import ArticleSlug, Slug
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
    settings: SettingsDep,
    locale: LocaleDep,
    pagination: PaginationDep,
    therapy: Annotated[TermQuery, Query(description="Therapy slug, e.g. `iv-ketamine`.")] = None,
    condition: Annotated[TermQuery, Query(description="Condition slug, e.g. `ptsd`.")] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Full-text search over title, summary, sections."),
    ] = None,
) -> Response:
    """Published articles in the negotiated locale, newest first, as summaries (no section
    bodies)."""
    filters = articles.ArticleFilters(locale=locale, therapy=therapy, condition=condition, q=q)
    links = ContentLinkBuilder(settings.public_base_url)

    def build(session: Session) -> ArticleList:
        items, total = articles.list_published(
            session=session,
            filters=filters,
            page=pagination.page,
            page_size=pagination.page_size,
            links=links,
        )
        meta = PageMeta(total=total, page=pagination.page, page_size=pagination.page_size)
        return ArticleList(
            locale=locale,
            data=items,
            meta=meta,
            links=page_links(request.url.path, request.query_params, meta),
        )

    return await serve_cached(request, list_key(request.url.query, locale), build)


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
    """The whole article: ordered sections, hero image, translations, review, SEO, JSON-LD and
    its required disclaimers. In the negotiated locale: this slug's article in that locale, else
    its translation there (whose slug may differ), else this slug's article in its own locale;
    `locale` and `Content-Language` say which was served."""
    links = ContentLinkBuilder(settings.public_base_url)
    return await serve_cached(
        request,
        article_key(slug, locale),
        lambda session: articles.get_published(
            session=session, slug=slug, locale=locale, clinic_name=settings.name, links=links
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
