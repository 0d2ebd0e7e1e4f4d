"""Images uploaded over HTTP: checked, stripped of metadata (EXIF, GPS included), kept whole
and rendered as the import renders a folder's images; and the library editors pick a hero
image from."""

import uuid

from sqlalchemy import func
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from core.errors import (
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    ValidationFailedError,
)
from db.models import MediaAsset
from schemas.vocabulary import RevisionSource
from services.content import changes, media

# What an upload may declare itself as; the bytes are checked whatever it says.
ACCEPTED_TYPES = ("image/png", "image/jpeg", "image/webp")


def upload(
    *,
    session: Session,
    data: bytes,
    file_name: str,
    content_type: str | None,
    words: tuple[str, str | None, str | None],
    actor: uuid.UUID,
    max_bytes: int,
) -> tuple[MediaAsset, dict[str, object]]:
    """Store an uploaded image (alt, caption, credit) and its renditions; the same picture
    uploaded twice is one asset. UnsupportedMediaTypeError when it says it is not an image,
    PayloadTooLargeError over `max_bytes` or the pixel limit, ValidationFailedError when its bytes
    are not a PNG, JPEG or WebP."""
    if (content_type or "").split(";")[0].strip().lower() not in ACCEPTED_TYPES:
        raise UnsupportedMediaTypeError(
            f"Upload a PNG, JPEG or WebP image ({', '.join(ACCEPTED_TYPES)}).",
            code="unsupported_image_type",
        )
    if not words[0].strip():
        raise ValidationFailedError(
            [
                {
                    "field": "alt",
                    "type": "blank",
                    "message": "describe the image for who cannot see it",
                }
            ]
        )
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"Images are limited to {max_bytes // (1024 * 1024)} MB.")
    try:
        checked = media.check_image(data, "file")
    except media.ImageRefusedError as exc:
        if exc.too_large:
            raise PayloadTooLargeError(str(exc).removeprefix("file: ")) from None
        raise ValidationFailedError(
            [{"field": "file", "type": "invalid_image", "message": str(exc).removeprefix("file: ")}]
        ) from None
    clean = media.without_metadata(checked)
    alt, caption, credit = words
    asset = MediaAsset(
        sha256=clean.sha256,
        file_name=_safe_name(file_name, clean),
        mime_type=media.mime_of(clean),
        width=clean.width,
        height=clean.height,
        size=len(clean.data),
        data=clean.data,
        alt=alt,
        caption=caption,
        credit=credit,
        source=RevisionSource.HTTP,
        api_key_id=actor,
    )
    changes.serialize(session=session)  # one content write at a time: one asset per picture
    described = media.store(session=session, source=clean, uploaded=asset)
    stored = get(session, uuid.UUID(str(described["media_id"])))
    return stored, described


def _safe_name(file_name: str, source: media.SourceImage) -> str:
    extension = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}[
        media.mime_of(source)
    ]
    return f"{media.file_stem(file_name or 'image')}-{source.sha256[:8]}.{extension}"


def get(session: Session, media_id: uuid.UUID) -> MediaAsset:
    """One asset, or NotFoundError."""
    asset = session.get(MediaAsset, media_id)
    if asset is None:
        raise NotFoundError(f"No media {media_id}.", code="media_not_found")
    return asset


def page(*, session: Session, page: int, page_size: int) -> tuple[list[MediaAsset], int]:
    """A page of assets, newest first, and how many there are."""
    total = session.exec(select(func.count()).select_from(MediaAsset)).one()
    rows = session.exec(
        select(MediaAsset)
        .options(defer(MediaAsset.data))  # type: ignore[arg-type]  # a page lists, never shows
        .order_by(col(MediaAsset.created_at).desc(), col(MediaAsset.id))
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list(rows), int(total)


def described(session: Session, asset: MediaAsset) -> dict[str, object]:
    """An asset's renditions as an article keeps them (made again if they were collected)."""
    return media.stored_description(session, asset)


def hero_for(
    session: Session, media_id: uuid.UUID, words: tuple[str, str, str] | None = None
) -> dict[str, object]:
    """The hero image an article keeps for an asset: its renditions and its words."""
    asset = get(session, media_id)
    alt, caption, credit = words or (asset.alt or "", asset.caption or "", asset.credit or "")
    return {"file": asset.file_name, "alt": alt, "caption": caption, "credit": credit,
            **described(session, asset)}  # fmt: skip
