"""Correct typed calls through the generated Python client (mypy --strict checks them in make
clients; make example-test also runs this file against a live server:
`python clients/usage/usage.py http://127.0.0.1:8000`)."""

import sys
import uuid

from clinic_api_client import Client
from clinic_api_client.api.articles import list_articles
from clinic_api_client.api.consultation_requests import (
    create_consultation_request,
    get_current_consent_text,
)
from clinic_api_client.models import (
    ArticleList,
    Channel,
    ConsentIn,
    ConsentTextPublic,
    ConsultationRequestCreate,
    ConsultationRequestReceipt,
    ContactMethod,
    Problem,
    SourceIn,
)


def article_titles(client: Client, therapy: str) -> list[str]:
    """Titles of the published articles about one therapy."""
    page = list_articles.sync(client=client, therapy=[therapy], page_size=20, fields="title")
    if not isinstance(page, ArticleList):
        raise RuntimeError(f"list_articles answered {page!r}")
    # With `fields`, only the fields named (and id, slug, disclaimers) are present.
    return [a.title if isinstance(a.title, str) else a.slug for a in page.data]


def request_consultation(client: Client, article_slug: str) -> ConsultationRequestReceipt:
    """Submit a consultation request with the current consent version and an idempotency key."""
    consent = get_current_consent_text.sync(client=client)
    if not isinstance(consent, ConsentTextPublic):
        raise RuntimeError(f"get_current_consent_text answered {consent!r}")
    body = ConsultationRequestCreate(
        first_name="Ana",
        last_name="Diaz",
        email="ana@example.com",
        phone="+1 415 555 0100",
        consent=ConsentIn(contact=True, age_confirmed=True, consent_version=consent.version),
        preferred_contact_method=ContactMethod.EMAIL,
        source=SourceIn(article_slug=article_slug, channel=Channel.WEB),
    )
    answer = create_consultation_request.sync_detailed(
        client=client, body=body, idempotency_key=str(uuid.uuid4())
    )
    if isinstance(answer.parsed, Problem):
        fields = [f"{e.field}: {e.message}" for e in answer.parsed.errors or []]
        raise RuntimeError(f"{answer.status_code} {answer.parsed.code} {fields}")
    if answer.parsed is None:
        raise RuntimeError(f"unexpected {answer.status_code}")
    return answer.parsed


def main(base_url: str) -> None:
    """List the IV ketamine articles, then request a consultation from the first one."""
    with Client(base_url=base_url, raise_on_unexpected_status=True) as client:
        titles = article_titles(client, "iv-ketamine")
        print(f"python client: {len(titles)} IV ketamine articles: {titles}")
        receipt = request_consultation(client, "iv-ketamine-for-ptsd")
        print(f"python client: consultation request {receipt.id} {receipt.status}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
