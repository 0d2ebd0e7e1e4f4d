"""Draft previews: a token from `POST /v1/admin/previews` (a content:write key, server side
only) opens one article, draft or not, until it expires."""

from urllib.parse import quote, urlencode

from clinic_api_client import AuthenticatedClient
from clinic_api_client.api.admin_content import create_preview as create_preview_call
from clinic_api_client.models import PreviewCreate, PreviewPublic
from clinic_api_client.types import UNSET

from clinic_api.problems import raise_problem


def create_preview(
    client: AuthenticatedClient,
    slug: str,
    locale: str | None = None,
    expires_in: int | None = None,
) -> PreviewPublic:
    """A preview of `slug` in `locale` (the clinic's default when None) for `expires_in`
    seconds; its `url` is the API's absolute URL with the token."""
    body = PreviewCreate(
        slug=slug,
        locale=UNSET if locale is None else locale,
        expires_in=UNSET if expires_in is None else expires_in,
    )
    answer = create_preview_call.sync_detailed(client=client, body=body)
    if not isinstance(answer.parsed, PreviewPublic):
        raise_problem(answer.status_code, answer.parsed)
    assert isinstance(answer.parsed, PreviewPublic)
    return answer.parsed


def preview_url(base_url: str, slug: str, token: str, locale: str | None = None) -> str:
    """Where `GET /v1/articles/{slug}` answers the previewed article, on `base_url`."""
    query = urlencode({**({"locale": locale} if locale else {}), "preview": token})
    return f"{base_url.rstrip('/')}/v1/articles/{quote(slug, safe='')}?{query}"
