"""Every link the API hands out is built here: list pages, cursors, resources, and the links
inside webhook payloads (the dispatcher is handed `event_links`)."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request

from api.public_base import PublicBase
from core.config import Settings
from schemas.changes import ChangePublic
from schemas.common import PageLinks, PageMeta
from schemas.vocabulary import ChangeType
from services.content.term_words import translation
from services.leads.events import LEAD_EVENT_PREFIX
from services.webhooks.payloads import LinkBuilder

ARTICLE_EVENT_PREFIX = "article."


def lead_path(lead_id: uuid.UUID | str) -> str:
    """Where staff read one consultation request."""
    return f"/v1/admin/consultation-requests/{lead_id}"


def webhook_endpoint_path(endpoint_id: uuid.UUID | str) -> str:
    """Where an integrator reads (and changes) one webhook endpoint."""
    return f"/v1/admin/webhook-endpoints/{endpoint_id}"


def admin_article_path(article_id: uuid.UUID | str) -> str:
    """Where editors read an article in any state."""
    return f"/v1/admin/articles/{article_id}"


def article_path(slug: str, locale: str) -> str:
    """Where the public reads one article in one locale."""
    return f"/v1/articles/{slug}?{urlencode({'locale': locale})}"


def public_base_url(request: Request) -> str:
    """The base (no trailing slash) that this request's absolute URLs are written on."""
    base: PublicBase = request.app.state.public_base
    return base.of(request.scope)


def preview_url(base_url: str, slug: str, locale: str, token: str) -> str:
    """The absolute URL that shows a draft to whoever holds the preview token."""
    query = urlencode({"locale": locale, "preview": token})
    return f"{base_url}/v1/articles/{slug}?{query}"


def change_href(change: ChangePublic) -> str | None:
    """Where the current form of what a change-feed entry names is read (None: a tombstone)."""
    if change.deleted:
        return None
    if change.type.startswith("article.") and change.locale is not None:
        return article_path(change.slug, change.locale)
    return {
        ChangeType.THERAPY_CHANGED: f"/v1/therapies/{change.slug}",
        ChangeType.CONDITION_CHANGED: f"/v1/conditions/{change.slug}",
        ChangeType.DISCLAIMER_CHANGED: "/v1/disclaimers",
    }.get(change.type)


def changes_next(path: str, next_cursor: str, limit: int) -> str:
    """The next page of the change feed, or the next poll when there was nothing new."""
    return with_query(path, {"since": next_cursor, "limit": limit})


def media_path(name: str) -> str:
    """Where a stored image rendition is served (an absolute path)."""
    return f"/media/{name}"


@dataclass(frozen=True)
class ContentLinkBuilder:
    """The links inside content responses (services.content.hero.ContentLinks), and the
    words of the button they lead readers to the consultation form with."""

    base_url: str
    button_labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def for_request(cls, request: Request, settings: Settings) -> "ContentLinkBuilder":
        """On the request's public base URL (api/public_base.py), with
        `CLINIC_CTA_BUTTON_LABEL`."""
        return cls(public_base_url(request), settings.cta_button_label)

    def button_label(self, locale: str, own: str) -> str:
        """The consultation button's words in `locale`: the clinic's setting, else `own`."""
        return translation(self.button_labels, locale) or own

    def media(self, name: str) -> str:
        """The absolute URL of a stored rendition."""
        return self.base_url + media_path(name)

    def article(self, slug: str, locale: str) -> str:
        """Where the API serves an article in a locale."""
        return article_path(slug, locale)


def with_query(path: str, params: Mapping[str, Any]) -> str:
    """`path` with these query parameters (None values left out)."""
    kept = {k: v for k, v in params.items() if v is not None}
    return f"{path}?{urlencode(kept)}" if kept else path


def with_replaced(path: str, query: QueryParams, **values: object) -> str:
    """`path` with this request's query, every value of a repeated parameter kept in order
    (`therapy=a&therapy=b`), and `values` put in place of the ones it had (or at the end)."""
    pending = dict(values)
    kept: list[tuple[str, object]] = []
    for key, value in query.multi_items():
        if key not in values:
            kept.append((key, value))
        elif key in pending:
            kept.append((key, pending.pop(key)))
    kept += pending.items()
    kept = [(k, v) for k, v in kept if v is not None]
    return f"{path}?{urlencode(kept)}" if kept else path


def page_links(path: str, filters: Sequence[tuple[str, str]], meta: PageMeta) -> PageLinks:
    """self/first/last/next/prev links for a page-numbered list: its filters, then its page
    size and the page."""
    last = max(1, -(-meta.total // meta.page_size))

    def link(page: int) -> str:
        return f"{path}?{urlencode([*filters, ('page_size', meta.page_size), ('page', page)])}"

    return PageLinks(
        self=link(meta.page),
        first=link(1),
        last=link(last),
        next=link(meta.page + 1) if meta.page < last else None,
        prev=link(min(meta.page - 1, last)) if meta.page > 1 else None,
    )


def next_cursor_link(path: str, query: QueryParams, next_cursor: str | None) -> str | None:
    """The next page of a cursor-paginated list, keeping every filter of this one."""
    if next_cursor is None:
        return None
    return with_replaced(path, query, cursor=next_cursor)


def event_links_builder(base_url: str) -> LinkBuilder:
    """The absolute `links` of a webhook payload, for the dispatcher."""
    base = base_url.rstrip("/")

    def event_links(event_type: str, data: Mapping[str, Any]) -> dict[str, str]:
        if event_type.startswith(LEAD_EVENT_PREFIX) and "id" in data:
            return {"self": base + lead_path(data["id"])}
        if event_type.startswith(ARTICLE_EVENT_PREFIX) and "slug" in data:
            return {"self": base + article_path(data["slug"], data["locale"])}
        return {}

    return event_links
