"""The public change feed: what changed in public content since a cursor."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlmodel import Session
from starlette.responses import Response

from api.links import change_href, changes_next
from api.response_cache import serve_cached
from schemas.changes import ChangeLinks, ChangeList, ChangeMeta
from schemas.common import ID_CURSOR_PATTERN, problem_responses
from services.content import changes

router = APIRouter(prefix="/v1/changes", tags=["changes"])
MAX_LIMIT = 500


@router.get(
    "",
    name="list_changes",
    summary="List changes to public content since a cursor",
    response_model=ChangeList,
    responses=problem_responses(304, 410, 422),
)
async def list_changes(
    request: Request,
    since: Annotated[
        str | None,
        Query(
            pattern=ID_CURSOR_PATTERN,
            description="A cursor from `meta.next_cursor`, an entry's `cursor` or "
            "`GET /v1/articles`' `meta.changes_cursor`; the start of the history when left "
            "out. One older than the history kept answers 410 `cursor_expired`: resync.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Entries per page.")] = 100,
) -> Response:
    """Every change to public content, oldest first: articles published, updated and
    unpublished (tombstones with the article's `id`, `slug` and `locale`), therapies,
    conditions and disclaimers. Keep `meta.next_cursor` and ask again with it."""

    def build(session: Session) -> ChangeList:
        page = changes.list_changes(session=session, since=since, limit=limit)
        return ChangeList(
            data=[c.model_copy(update={"href": change_href(c)}) for c in page.items],
            meta=ChangeMeta(next_cursor=page.next_cursor, has_more=page.has_more, limit=limit),
            links=ChangeLinks(next=changes_next(request.url.path, page.next_cursor, limit)),
        )

    return await serve_cached(request, ("changes", since, limit), build)
