"""Draft previews: a signed, expiring link that shows an unpublished article."""

from datetime import timedelta

from fastapi import APIRouter, Request

from api.auth import ContentWrite
from api.deps import KeyRingDep, SessionDep, SettingsDep
from api.links import preview_url, public_base_url
from schemas.common import problem_responses
from schemas.previews import PREVIEW_TTL_DEFAULT, PreviewCreate, PreviewPublic
from services.content import previews

router = APIRouter(prefix="/v1/admin/previews", tags=["admin: content"])


@router.post(
    "",
    name="create_preview",
    summary="Create a draft preview token",
    status_code=201,
    response_model=PreviewPublic,
    responses=problem_responses(401, 403, 404, 422),
)
def create_preview(
    request: Request,
    body: PreviewCreate,
    session: SessionDep,
    settings: SettingsDep,
    ring: KeyRingDep,
    principal: ContentWrite,
) -> PreviewPublic:
    """A token that lets `GET /v1/articles/{slug}?preview=…` answer this article (a draft, or
    the published article) until `expires_at`, never cached. It cannot be revoked: keep
    `expires_in` short. Audited."""
    locale = body.locale or settings.default_locale
    grant = previews.create(
        session=session,
        ring=ring,
        actor=principal.key_id,
        slug=body.slug,
        locale=locale,
        expires_in=timedelta(seconds=body.expires_in or PREVIEW_TTL_DEFAULT),
    )
    return PreviewPublic(
        token=grant.token,
        url=preview_url(public_base_url(request), body.slug, locale, grant.token),
        expires_at=grant.expires_at,
    )
