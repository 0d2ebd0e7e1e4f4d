"""A valid article body for the editorial API, and a client holding a writer's key and two
reviewers' keys."""

from typing import Any

from fastapi.testclient import TestClient

ARTICLES = "/v1/admin/articles"


def article_body(**changes: Any) -> dict[str, Any]:
    """An NAD+ article that the content rules and the compliance policy accept."""
    body: dict[str, Any] = {
        "slug": "nad-plus-questions",
        "locale": "en",
        "title": "NAD+ infusions: common questions",
        "summary": "What is and is not known about NAD+ infusions.",
        "therapies": ["nad-plus"],
        "conditions": [],
        "call_to_action": {
            "heading": "Questions?",
            "text": "Book a free consultation.",
            "button_label": "Request a consultation",
            "url": "/consultation?article=nad-plus-questions",
        },
        "seo": {"meta_title": "NAD+ questions", "meta_description": "NAD+ infusions explained."},
        "references": [
            {
                "id": "freeberg2023",
                "authors": "Freeberg KA, et al.",
                "title": "Dietary supplementation with NAD+-boosting compounds in humans",
                "publisher": "The Journals of Gerontology: Series A",
                "year": 2023,
                "doi": "10.1093/gerona/glad106",
            },
            {
                "id": "grant2019",
                "authors": "Grant R, et al.",
                "title": "A pilot study of the NAD+ metabolome during a 6 hour infusion",
                "publisher": "Frontiers in Aging Neuroscience",
                "year": 2019,
                "pmid": "31572171",
            },
            {
                "id": "radenkovic2020",
                "authors": "Radenkovic D, Reason, Verdin E",
                "title": "Clinical evidence for targeting NAD therapeutically",
                "publisher": "Pharmaceuticals",
                "year": 2020,
                "doi": "10.3390/ph13090247",
            },
        ],
        "sections": [
            {
                "key": "overview",
                "kind": "overview",
                "heading": "What NAD+ is",
                "markdown": "NAD+ is a coenzyme in every cell [@freeberg2023].",
            },
            {
                "key": "evidence",
                "kind": "evidence",
                "heading": "What studies show",
                "markdown": "Human studies are small [@grant2019; @radenkovic2020].",
            },
            {
                "key": "safety",
                "kind": "safety",
                "heading": "Side effects",
                "markdown": "A fast infusion may cause flushing or nausea [@grant2019].",
            },
        ],
    }
    body.update(changes)
    return body


class Desk:
    """A client with a writer's key and two reviewers' keys."""

    def __init__(self, client: TestClient, writer: str, reviewer: str, second: str) -> None:
        self.client = client
        self.writer = {"Authorization": f"Bearer {writer}"}
        self.reviewer = {"Authorization": f"Bearer {reviewer}"}
        self.second = {"Authorization": f"Bearer {second}"}

    def create(self, **changes: Any) -> dict[str, Any]:
        answer = self.client.post(ARTICLES, json=article_body(**changes), headers=self.writer)
        assert answer.status_code == 201, answer.text
        return {**answer.json(), "etag": answer.headers["etag"]}

    def put(self, article: dict[str, Any], etag: str | None, **changes: Any) -> Any:
        headers = {**self.writer, **({"If-Match": etag} if etag else {})}
        body = article_body(**{"slug": article["slug"], **changes})
        return self.client.put(f"{ARTICLES}/{article['id']}", json=body, headers=headers)

    def approve(self, article_id: str, revision: int, **body: Any) -> Any:
        return self.client.post(
            f"{ARTICLES}/{article_id}/revisions/{revision}/approvals",
            json=body,
            headers=self.reviewer,
        )

    def publish(self, article_id: str, revision: int, **body: Any) -> Any:
        return self.client.post(
            f"{ARTICLES}/{article_id}/publish",
            json={"revision": revision, **body},
            headers=self.writer,
        )
