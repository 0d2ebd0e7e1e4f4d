"""Public article endpoints, served from the response cache (a preview never is)."""

from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.deps import KeyRingDep, LocaleDep, PaginationDep, SettingsDep, read_only_session
from api.links import ContentLinkBuilder, page_links
from api.response_cache import Exclude, article_key, serve_cached
from schemas.articles import (
    ARTICLE_FIELDS,
    SUMMARY_FIELDS,
    ArticleList,
    ArticleListMeta,
    ArticlePublic,
    SectionWithContext,
)
from schemas.common import problem_responses
from schemas.previews import PREVIEW_TOKEN_PATTERN
from schemas.queries import (
    EXCLUDE_DESCRIPTION,
    FIELDS_DESCRIPTION,
    ArticleExclusionList,
    ArticleFieldList,
    Selection,
    SummaryExclusionList,
    SummaryFieldList,
)
from schemas.text import Instant, Line, rfc3339
from schemas.vocabulary import ArticleSlug, ArticleSort, BodyForm, Slug
from services.content import articles, changes, listing, previews

router = APIRouter(prefix="/v1/articles", tags=["articles"])

SlugPath = Annotated[ArticleSlug, Path(examples=["iv-ketamine-for-ptsd"])]
MAX_TERMS = 20
FormatQuery = Annotated[
    BodyForm | None,
    Query(
        description="The one body form sections carry (`html`, `markdown` or `text`); every "
        "form when left out."
    ),
]


def _forms_left_out(format: BodyForm | None) -> set[str]:
    return set() if format is None else {f.value for f in BodyForm if f != format}


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
    therapy: Annotated[
        list[Slug] | None,
        Query(
            max_length=MAX_TERMS,
            description="Therapy slug, e.g. `iv-ketamine`; repeat it for any of several.",
        ),
    ] = None,
    condition: Annotated[
        list[Slug] | None,
        Query(
            max_length=MAX_TERMS,
            description="Condition slug, e.g. `ptsd`; repeat it for any of several.",
        ),
    ] = None,
    q: Annotated[
        Line | None,
        Query(
            max_length=200,
            description=(
                "Full-text search over title, summary, sections; each hit carries a `snippet`."
            ),
        ),
    ] = None,
    sort: Annotated[
        ArticleSort | None,
        Query(
            description="`relevance` (the default with `q`), `newest` (the default without), "
            "`oldest`, or `title` (A to Z). Ties go by slug."
        ),
    ] = None,
    updated_since: Annotated[
        Instant | None,
        Query(
            description="Only articles whose `updated_at` is at or after this time "
            "(RFC 3339 with a time zone, e.g. `2026-11-01T00:00:00Z`)."
        ),
    ] = None,
    fields: Annotated[SummaryFieldList | None, Query(description=FIELDS_DESCRIPTION)] = None,
    exclude: Annotated[SummaryExclusionList | None, Query(description=EXCLUDE_DESCRIPTION)] = None,
) -> Response:
    """Published articles in the negotiated locale, as summaries (no section bodies): newest
    first, or with `q` the most relevant first. A search counts its hits exactly up to 1,000
    (`meta.total_is_estimate`)."""
    q = " ".join(q.split()) if q else None  # spaces do not search
    q = q or None
    filters = listing.ArticleFilters(
        locale=locale,
        therapies=tuple(sorted(set(therapy or ()))),
        conditions=tuple(sorted(set(condition or ()))),
        q=q,
        updated_since=updated_since,
        # The default order is none to name (one cache entry, one set of links): relevance
        # with `q`; without it newest, which `relevance` means there too.
        sort=None if sort in _DEFAULT_ORDERS[q is not None] else sort,
    )
    selection = Selection.of(SUMMARY_FIELDS, fields, exclude)
    left_out: Exclude = (
        {"data": {"__all__": set(selection.left_out)}} if selection.left_out else None
    )
    links = ContentLinkBuilder.for_request(request, settings)
    # The body echoes its query in its links: made of the normalised parameters, so that every
    # spelling of one query is one cache entry and one set of links.
    query = _list_query(request, filters, selection.as_fields())

    def build(session: Session) -> ArticleList:
        cursor = changes.current_cursor(session=session)  # before the page: replays cover it
        found = listing.list_published(
            session=session,
            filters=filters,
            page=pagination.page,
            page_size=pagination.page_size,
            links=links,
        )
        meta = ArticleListMeta(
            total=found.total,
            page=pagination.page,
            page_size=pagination.page_size,
            total_is_estimate=found.total_is_estimate,
            changes_cursor=cursor,
        )
        return ArticleList(
            locale=locale,
            data=found.items,
            meta=meta,
            links=page_links(request.url.path, query, meta),
        )

    key = ("list", locale, query, pagination.page, pagination.page_size)
    return await serve_cached(request, key, build, left_out)


# The orders a list gets without `sort=`, by whether it searches (`relevance` without `q` has
# nothing to rank by, and is the newest first).
_DEFAULT_ORDERS = {
    True: {None, ArticleSort.RELEVANCE},
    False: {None, ArticleSort.NEWEST, ArticleSort.RELEVANCE},
}


def _list_query(
    request: Request, filters: listing.ArticleFilters, fields: str | None
) -> tuple[tuple[str, str], ...]:
    """A list's filters as its links repeat them, in one order and one spelling each."""
    negotiated = request.state.negotiated
    explicit = () if negotiated.from_header else (("locale", negotiated.locale),)
    since = filters.updated_since
    return (
        *explicit,
        *(("therapy", t) for t in filters.therapies),
        *(("condition", c) for c in filters.conditions),
        *((("q", filters.q),) if filters.q is not None else ()),
        *((("sort", filters.sort.value),) if filters.sort is not None else ()),
        *((("updated_since", rfc3339(since)),) if since is not None else ()),
        *((("fields", fields),) if fields is not None else ()),
    )


@router.get(
    "/{slug}",
    name="get_article",
    summary="Get a published article (or, with a preview token, a draft)",
    response_model=ArticlePublic,
    responses={
        **problem_responses(304, 404, 422, 503),
        401: {
            "description": "The preview token is wrong, for another article, or expired.",
            "content": problem_responses(401)[401]["content"],
        },
    },
)
async def get_article(
    request: Request,
    settings: SettingsDep,
    ring: KeyRingDep,
    locale: LocaleDep,
    slug: SlugPath,
    format: FormatQuery = None,
    preview: Annotated[
        str | None,
        Query(
            max_length=600,
            pattern=PREVIEW_TOKEN_PATTERN,
            description="A token from `POST /v1/admin/previews`: answers the draft (or the "
            "published article) with `Cache-Control: private, no-store`, never cached.",
        ),
    ] = None,
    fields: Annotated[ArticleFieldList | None, Query(description=FIELDS_DESCRIPTION)] = None,
    exclude: Annotated[ArticleExclusionList | None, Query(description=EXCLUDE_DESCRIPTION)] = None,
) -> Response:
    """The whole article: ordered sections, hero image, translations, review, SEO, JSON-LD and
    its required disclaimers. In the negotiated locale: this slug's article in that locale, else
    its translation there (whose slug may differ), else this slug's article in its own locale;
    `locale` and `Content-Language` say which was served."""
    links = ContentLinkBuilder.for_request(request, settings)
    selection = Selection.of(ARTICLE_FIELDS, fields, exclude)
    left_out = _left_out(selection, format)
    if preview is not None:
        previews.check(ring=ring, token=preview, slug=slug, locale=locale)
        return await _private(
            request,
            lambda session: articles.get_preview(
                session=session, slug=slug, locale=locale, clinic_name=settings.name, links=links
            ),
            left_out,
        )
    return await serve_cached(
        request,
        article_key(slug, locale, format, selection.left_out),
        lambda session: articles.get_published(
            session=session, slug=slug, locale=locale, clinic_name=settings.name, links=links
        ),
        left_out,
    )


def _left_out(selection: Selection, format: BodyForm | None) -> Exclude:
    """What an article's body leaves out: the fields not asked for, and the section body forms
    other than `format`."""
    left: dict[str, Any] = dict.fromkeys(selection.left_out, True)
    forms = _forms_left_out(format)
    if forms and "sections" not in left:
        left["sections"] = {"__all__": forms}
    return left or None


async def _private(
    request: Request, build: Callable[[Session], ArticlePublic], exclude: Exclude
) -> Response:
    """A response for one reader only: no ETag, never stored by any cache."""

    def run() -> bytes:
        with read_only_session(request) as session:
            return orjson.dumps(build(session).model_dump(mode="json", exclude=exclude))

    body = await run_in_threadpool(run)
    return Response(
        content=body,
        media_type="application/json",
        headers={"Cache-Control": "private, no-store"},
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
    format: FormatQuery = None,
) -> Response:
    """One section by its stable key (the anchor used on the page), with the references it
    cites and the whole article's disclaimers, which must be shown with it."""
    return await serve_cached(
        request,
        ("section", slug, locale, key, format),
        lambda session: articles.get_section(session=session, slug=slug, locale=locale, key=key),
        _forms_left_out(format) or None,
    )
