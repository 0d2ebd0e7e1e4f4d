"""Hero images as clients see them: responsive renditions and a placeholder colour."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from schemas.common import PageMeta


class ImageRendition(BaseModel):
    """One stored file of an image: a width in one format, served immutable from `/media/`."""

    url: str = Field(
        examples=["https://api.clinic.example/media/iv-ketamine-hero-960w-3f2a9c1b7d4e5f60.webp"],
        description="Absolute URL on this API (its public base URL); the name holds the hash of "
        "the bytes, so the file never changes (`Cache-Control: immutable`).",
    )
    width: int = Field(ge=1, examples=[960])
    height: int = Field(ge=1, examples=[533])
    mime_type: str = Field(examples=["image/webp"])
    size: int = Field(ge=1, description="Bytes.")


class HeroImage(BaseModel):
    """An article's or therapy's hero image. Renditions come best format first (AVIF when the
    server's Pillow writes it, WebP, JPEG), each at 480, 960 and 1600 px wide or narrower,
    never upscaled: a `<picture>` with one `<source type srcset>` per `mime_type`."""

    alt: str = Field(description="Text alternative for readers who cannot see it.")
    caption: str
    credit: str
    width: int = Field(
        ge=1,
        description="The source's width in pixels (with `height`: the aspect ratio to reserve "
        "before it loads).",
    )
    height: int = Field(ge=1)
    dominant_color: str = Field(
        pattern=r"^#[0-9a-f]{6}$", examples=["#3c6a86"], description="Placeholder colour."
    )
    src: str = Field(
        description="A JPEG rendition every client can show (the widest), as an absolute URL."
    )
    renditions: list[ImageRendition]


class OgImage(BaseModel):
    """The image for `og:image` (and `og:image:*`): a JPEG rendition, as an absolute URL."""

    url: str = Field(
        examples=["https://api.clinic.example/media/iv-ketamine-hero-1600w-0a1b2c3d4e5f6071.jpg"]
    )
    width: int
    height: int
    mime_type: str
    alt: str


class MediaAssetPublic(BaseModel):
    """An uploaded (or imported) source image and the renditions made from it; name it as an
    article's `hero_media_id`."""

    id: uuid.UUID
    file_name: str
    sha256: str
    mime_type: str
    width: int
    height: int
    size: int = Field(description="Bytes of the stored source (metadata removed).")
    alt: str | None
    caption: str | None
    credit: str | None
    dominant_color: str
    renditions: list[ImageRendition]
    created_at: datetime


class MediaAssetList(BaseModel):
    """A page of media, newest first."""

    items: list[MediaAssetPublic]
    meta: PageMeta
