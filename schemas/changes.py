"""The change feed as clients read it: ordered entries, tombstones included, and a cursor."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from schemas.vocabulary import ChangeType


class ChangePublic(BaseModel):
    """One change to public content. Apply entries in order: an article entry upserts (or,
    when `deleted`, removes) the article `id`; fetch its current form from `href`."""

    cursor: str = Field(
        description="This entry's position: following the feed from it starts after it."
    )
    type: ChangeType
    deleted: bool = Field(
        description="A tombstone: forget what you hold under this `id` (articles) or `slug` "
        "(a disclaimer's key)."
    )
    id: uuid.UUID | None = Field(
        description="The article's stable id (never reused); null for taxonomy and disclaimers."
    )
    slug: str = Field(
        description="The article's, therapy's or condition's slug, or the disclaimer's key."
    )
    locale: str | None = Field(description="The article's locale; null for the others.")
    revision: int | None = Field(description="The article's revision this entry is about.")
    changed_at: datetime
    href: str | None = Field(
        default=None, description="Where to read it now (relative URL); null for tombstones."
    )


class ChangeMeta(BaseModel):
    """Where the page ends."""

    next_cursor: str = Field(
        description="Send it as `since` next time. When there is nothing new it equals the "
        "`since` you sent, so a client can simply keep polling with it."
    )
    has_more: bool = Field(description="More entries follow at once: ask again with next_cursor.")
    limit: int


class ChangeLinks(BaseModel):
    """The next page (or the next poll) of the feed."""

    next: str


class ChangeList(BaseModel):
    """A page of the change feed, oldest first."""

    data: list[ChangePublic]
    meta: ChangeMeta
    links: ChangeLinks
