"""Draft previews: what an editor asks for and the signed link it gets."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import WHOLE_NUMBER
from schemas.vocabulary import LOCALE_PATTERN, ArticleSlug

PREVIEW_TTL_DEFAULT = 3600  # one hour
PREVIEW_TTL_MIN = 60
PREVIEW_TTL_MAX = 7 * 24 * 3600  # a week
PreviewSeconds = Annotated[
    int, Field(strict=True, ge=PREVIEW_TTL_MIN, le=PREVIEW_TTL_MAX), WHOLE_NUMBER
]
# `v1.` + the base64url payload + `.` + the base64url HMAC-SHA256; bounded.
PREVIEW_TOKEN_PATTERN = r"^[A-Za-z0-9._-]{1,600}$"  # noqa: S105


class PreviewCreate(BaseModel):
    """A preview of one article in one locale, usually a draft."""

    model_config = ConfigDict(extra="forbid")

    slug: ArticleSlug = Field(examples=["ketamine-for-chronic-pain"])
    locale: str | None = Field(
        default=None,
        pattern=LOCALE_PATTERN,
        max_length=5,
        description="The article's locale; the clinic's default locale when left out.",
    )
    expires_in: PreviewSeconds | None = Field(
        default=None,
        description=f"Seconds the token is valid ({PREVIEW_TTL_MIN} to {PREVIEW_TTL_MAX}); "
        f"{PREVIEW_TTL_DEFAULT} (one hour) when left out.",
    )


class PreviewPublic(BaseModel):
    """A signed, expiring preview: whoever holds the token reads the article, draft or not."""

    token: str = Field(description="Send it as `preview=` on `GET /v1/articles/{slug}`.")
    url: str = Field(description="The article's absolute URL with its locale and the token.")
    expires_at: datetime
