"""Shared dependencies: database session, settings, locale and pagination parameters."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlmodel import Session

from core.config import Settings

MAX_PAGE_SIZE = 100
MAX_PAGE = 100_000
LOCALE_PATTERN = r"^[a-z]{2}(-[A-Z]{2})?$"
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """A database session for one request."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_locale(
    settings: SettingsDep,
    locale: Annotated[
        str | None, Query(pattern=LOCALE_PATTERN, description="Content locale, e.g. `en`.")
    ] = None,
) -> str:
    """The requested locale, or the clinic's default."""
    return locale or settings.default_locale


LocaleDep = Annotated[str, Depends(get_locale)]


@dataclass(frozen=True)
class Pagination:
    """Page number and size from the query string."""

    page: int
    page_size: int


async def get_pagination(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number.")] = 1,
    page_size: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page (default 20, max 100).")
    ] = 20,
) -> Pagination:
    """Validated pagination; out-of-range values are a 422, never silently capped."""
    return Pagination(page=page, page_size=page_size)


PaginationDep = Annotated[Pagination, Depends(get_pagination)]
