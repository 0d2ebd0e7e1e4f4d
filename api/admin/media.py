"""The media library: image uploads editors pick hero images from (`content:write`)."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from api.auth import ContentEditor, ContentWrite
from api.deps import PaginationDep, SessionDep, SettingsDep
from api.links import media_path
from db.models import MediaAsset, as_utc
from schemas.common import PageMeta, problem_responses
from schemas.media import ImageRendition, MediaAssetList, MediaAssetPublic
from schemas.text import Line
from services.content import media_library

router = APIRouter(prefix="/v1/admin/media", tags=["admin: editorial"])


class MediaUpload(BaseModel):
    """An image upload: the file and the words that go with it."""

    model_config = ConfigDict(extra="forbid")

    file: UploadFile = Field(description="A PNG, JPEG or WebP image.")
    alt: Line = Field(
        min_length=1, max_length=300, description="What the image shows, for who cannot see it."
    )
    caption: Line | None = Field(default=None, max_length=500)
    credit: Line | None = Field(default=None, max_length=200)


def _public(asset: MediaAsset, described: dict[str, Any]) -> MediaAssetPublic:
    return MediaAssetPublic(
        id=asset.id,
        file_name=asset.file_name,
        sha256=asset.sha256,
        mime_type=asset.mime_type,
        width=asset.width,
        height=asset.height,
        size=asset.size,
        alt=asset.alt,
        caption=asset.caption,
        credit=asset.credit,
        dominant_color=described["dominant_color"],
        renditions=[
            ImageRendition(
                url=media_path(r["name"]),
                width=r["width"],
                height=r["height"],
                mime_type=r["mime_type"],
                size=r["size"],
            )
            for r in described["renditions"]
        ],
        created_at=as_utc(asset.created_at),
    )


@router.post(
    "",
    name="upload_media",
    status_code=201,
    summary="Upload an image",
    response_model=MediaAssetPublic,
    responses=problem_responses(401, 403, 413, 415, 422),
)
def upload_media(
    form: Annotated[MediaUpload, Form(media_type="multipart/form-data")],
    session: SessionDep,
    settings: SettingsDep,
    principal: ContentWrite,
) -> MediaAssetPublic:
    """Stores the image without its metadata (EXIF, GPS included) and makes its renditions as
    the import does; name its `id` as an article's `hero_media_id`. Not an image: 415 (by its
    type) or 422 (by its bytes); over `CLINIC_MEDIA_MAX_MB` (default 15) or 20 megapixels:
    413. The same picture twice is one asset. `content:write`."""
    file, caption, credit = form.file, form.caption, form.credit
    asset, described = media_library.upload(
        session=session,
        data=file.file.read(),
        file_name=file.filename or "image",
        content_type=file.content_type,
        words=(form.alt.strip(), (caption or "").strip() or None, (credit or "").strip() or None),
        actor=principal.key_id,
        max_bytes=settings.media_max_mb * 1024 * 1024,
    )
    return _public(asset, described)


@router.get(
    "",
    name="list_media",
    summary="List media",
    response_model=MediaAssetList,
    responses=problem_responses(401, 403, 422),
)
def list_media(
    session: SessionDep, pagination: PaginationDep, _principal: ContentEditor
) -> MediaAssetList:
    """Uploaded and imported images, newest first (`content:write` or `content:review`)."""
    rows, total = media_library.page(
        session=session, page=pagination.page, page_size=pagination.page_size
    )
    return MediaAssetList(
        items=[_public(a, media_library.described(session, a)) for a in rows],
        meta=PageMeta(total=total, page=pagination.page, page_size=pagination.page_size),
    )
