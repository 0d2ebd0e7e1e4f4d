"""Page links that keep the request's filters."""

from urllib.parse import urlencode

from starlette.requests import Request

from schemas.common import PageLinks, PageMeta


def page_links(request: Request, meta: PageMeta) -> PageLinks:
    """self/first/last/next/prev links for a page-numbered list."""
    last = max(1, -(-meta.total // meta.page_size))
    params = dict(request.query_params)

    def link(page: int) -> str:
        return (
            f"{request.url.path}?{urlencode({**params, 'page': page, 'page_size': meta.page_size})}"
        )

    return PageLinks(
        self=link(meta.page),
        first=link(1),
        last=link(last),
        next=link(meta.page + 1) if meta.page < last else None,
        prev=link(min(meta.page - 1, last)) if meta.page > 1 else None,
    )
