"""Public legal texts: the privacy notice a consent form links to (served from the cache)."""

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import LocaleDep, SettingsDep
from api.response_cache import serve_cached
from schemas.common import problem_responses
from schemas.legal import LegalNoticePublic
from services.content import legal

router = APIRouter(prefix="/v1/legal", tags=["legal"])


@router.get(
    "/privacy-notice",
    name="get_privacy_notice",
    summary="Get the privacy notice",
    response_model=LegalNoticePublic,
    responses=problem_responses(304, 404, 422),
)
async def get_privacy_notice(
    request: Request, settings: SettingsDep, locale: LocaleDep
) -> Response:
    """The clinic's current privacy notice in the negotiated locale (the default locale's when
    it has none): what it collects, including health information, why, who it shares it with,
    and how to have it deleted. `GET /v1/consent-texts/current` links to it."""
    return await serve_cached(
        request,
        ("legal", legal.PRIVACY_NOTICE, locale),
        lambda session: legal.current_notice(
            session=session,
            key=legal.PRIVACY_NOTICE,
            locale=locale,
            default_locale=settings.default_locale,
            clinic_name=settings.name,
            privacy_contact=settings.privacy_contact,
        ),
    )
