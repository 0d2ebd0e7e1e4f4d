"""Shared dependencies: the request's unit of work, settings, locale and pagination."""

from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request
from sqlmodel import Session

from api.locales import negotiate
from core.config import Settings
from core.crypto import KeyRing
from db.session import read_session, request_unit_of_work
from schemas.vocabulary import LOCALE_PATTERN

T = TypeVar("T")
MAX_PAGE_SIZE = 100
MAX_PAGE = 100_000


async def app_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request is the transaction: committed when the route returns, before the response
    is sent, and rolled back when it raises."""
    async with request_unit_of_work(request.app.state.engine) as session:
        yield session


def read_only_session(request: Request) -> AbstractContextManager[Session]:
    """A session for reads that need no unit of work (cached builds): it never commits."""
    return read_session(request.app.state.engine)


# scope="function": commit before the response leaves, so a 2xx always means "stored".
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(app_settings)]


async def get_key_ring(request: Request) -> KeyRing:
    """The master keys that open personal data."""
    ring: KeyRing = request.app.state.key_ring
    return ring


KeyRingDep = Annotated[KeyRing, Depends(get_key_ring)]


LOCALE_DESCRIPTION = (
    "Content locale, e.g. `es`. A region falls back to its language (`en-US` answers `en`) and "
    "a locale without content to the clinic's default. Without it, `Accept-Language` chooses "
    "(q-values honoured) and the response carries `Vary: Accept-Language`; `Content-Language` "
    "and the `locale` field say which locale was served."
)


async def get_locale(
    request: Request,
    settings: SettingsDep,
    locale: Annotated[
        str | None, Query(pattern=LOCALE_PATTERN, description=LOCALE_DESCRIPTION)
    ] = None,
) -> str:
    """The negotiated locale (kept in `request.state.negotiated` for the response headers)."""
    available, version = await request.app.state.response_cache.available_locales()
    request.state.locales_version = version  # what a cached answer's key was worked out under
    negotiated = negotiate(
        explicit=locale,
        header=request.headers.get("accept-language"),
        available=available,
        default=settings.default_locale,
    )
    request.state.negotiated = negotiated
    return negotiated.locale


LocaleDep = Annotated[str, Depends(get_locale)]


@dataclass(frozen=True)
class Pagination:
    """Page number and size from the query string."""

    page: int
    page_size: int


async def get_pagination(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number.")] = 1,
    page_size: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page (max 100).")
    ] = 20,
) -> Pagination:
    """Validated pagination; out-of-range values are a 422, never silently capped."""
    return Pagination(page=page, page_size=page_size)


PaginationDep = Annotated[Pagination, Depends(get_pagination)]
