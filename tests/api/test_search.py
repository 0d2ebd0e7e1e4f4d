"""Search: hits ranked by relevance, each with a highlighted snippet; `sort=newest` for the
date order; totals exact up to a bound and flagged as estimates beyond it."""

import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from bench.generate_articles import generate
from db.models import Article, ArticleTherapy, Therapy
from schemas.vocabulary import ArticleSort
from services.content import search
from services.content.articles import PUBLISHED
from services.content.search import Hits, find, snippets
from tests.conftest import DEMO_CONTENT
from tests.content_helpers import import_folder

MARK = re.compile(r"<mark>(.*?)</mark>")


def _slugs(body: dict[str, Any]) -> list[str]:
    return [a["slug"] for a in body["data"]]


def test_the_article_about_the_searched_words_comes_first(client):
    # Several articles mention ketamine; the one whose title is about it leads.
    body = client.get("/v1/articles?q=ketamine").json()
    assert len(body["data"]) >= 2
    assert _slugs(body)[0] == "iv-ketamine-for-ptsd"
    body = client.get("/v1/articles?q=stellate+ganglion").json()
    assert _slugs(body)[0] == "stellate-ganglion-block-for-ptsd"


def test_each_hit_quotes_the_text_around_the_words(client):
    body = client.get("/v1/articles?q=amygdala").json()
    assert body["data"]
    for hit in body["data"]:
        marked = MARK.findall(hit["snippet"])
        assert marked and all(m.lower().startswith("amygdala") for m in marked), hit["snippet"]
        assert "<" not in MARK.sub("", hit["snippet"])  # <mark> is the only markup
        assert len(hit["snippet"]) < 600


def test_newest_first_is_still_on_offer(client):
    everything = _slugs(client.get("/v1/articles").json())
    newest = _slugs(client.get("/v1/articles?q=ketamine&sort=newest").json())
    assert newest == [s for s in everything if s in newest]
    assert set(newest) == set(_slugs(client.get("/v1/articles?q=ketamine").json()))
    # Without q there is nothing to rank by: relevance is the date order.
    assert _slugs(client.get("/v1/articles?sort=relevance").json()) == everything
    r = client.get("/v1/articles?q=ketamine&sort=random")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "query.sort"


def test_oldest_first_and_by_title_with_or_without_q(client):
    listed = client.get("/v1/articles").json()["data"]
    assert len(listed) >= 3
    oldest = client.get("/v1/articles?sort=oldest").json()
    assert [a["published_at"] for a in oldest["data"]] == sorted(a["published_at"] for a in listed)
    assert "sort=oldest" in oldest["links"]["self"]  # the order is part of the query it echoes
    by_title = client.get("/v1/articles?sort=title").json()["data"]
    assert [a["title"].lower() for a in by_title] == sorted(a["title"].lower() for a in listed)
    hits = client.get("/v1/articles?q=ketamine&sort=title").json()["data"]
    assert len(hits) >= 2
    assert [a["title"].lower() for a in hits] == sorted(a["title"].lower() for a in hits)
    # The default order is spelled one way: `relevance` without q is the newest first, and no
    # link names it.
    plain = client.get("/v1/articles?sort=relevance").json()
    assert "sort=" not in plain["links"]["self"]


def test_snippets_escape_the_text_they_quote(make_client, seeded, tmp_path: Path):
    content = Path(shutil.copytree(DEMO_CONTENT, tmp_path / "content"))
    article = content / "articles/nad-plus-iv-therapy.md"
    text = article.read_text()
    heading = text.index("\n## ", text.index("---", 3))
    paragraph_end = text.index("\n\n", text.index("\n", heading + 1) + 1)
    article.write_text(
        text[:paragraph_end] + " Zanzibarian dose & rate < 1 mg/kg." + text[paragraph_end:]
    )
    engine = seeded.engine()
    import_folder(engine, content)
    engine.dispose()
    hit = make_client().get("/v1/articles?q=zanzibarian").json()["data"][0]
    assert MARK.findall(hit["snippet"]) == ["Zanzibarian"]
    assert "dose &amp; rate &lt; 1 mg/kg" in hit["snippet"]


def test_a_total_past_the_bound_is_an_estimate(shared_seeded):
    engine = shared_seeded.engine()
    published = [Article.status == PUBLISHED, Article.locale == "en"]
    with Session(engine) as session:

        def ptsd(offset: int = 0, limit: int = 10, **bound: int) -> Hits:
            return find(
                session=session,
                q="ptsd",
                conditions=published,
                sort=ArticleSort.RELEVANCE,
                offset=offset,
                limit=limit,
                **bound,
            )

        exact = ptsd()
        assert exact.total >= 2 and not exact.total_is_estimate
        assert len(exact.ids) == exact.total
        bounded = ptsd(exact_up_to=1)
        assert bounded.total_is_estimate and bounded.total >= 2
        assert bounded.ids == exact.ids  # the page itself is never estimated
        assert ptsd(offset=1, limit=1).ids == exact.ids[1:2]
        assert snippets(session=session, q="!!!", ids=exact.ids) == {}
    engine.dispose()


def test_a_query_with_control_characters_is_refused(client):
    for q in ("a%00b", "fear%0Aextinction", "%7F"):
        r = client.get(f"/v1/articles?q={q}")
        assert r.status_code == 422, q
        assert r.json()["errors"][0]["field"] == "query.q"


def test_pages_ranked_from_the_best_candidates_match_a_ranking_of_every_hit(migrated, monkeypatch):
    """The page is read off the best few FTS5 hits when enough of them pass the filters, and
    off every hit otherwise; both must give the order a ranking of every hit gives."""
    engine = migrated.engine()
    generate(engine, 60)  # through the real import; every hit shares a small vocabulary
    nad = (
        select(ArticleTherapy.article_id)
        .join(Therapy, col(Therapy.id) == col(ArticleTherapy.therapy_id))
        .where(Therapy.slug == "nad-plus")
    )
    filters: dict[str, list[Any]] = {
        "published": [Article.status == PUBLISHED, Article.locale == "en"],
        "one therapy": [Article.status == PUBLISHED, col(Article.id).in_(nad)],
    }
    with Session(engine) as session:

        def pages(q: str, conditions: list[Any], limit: int) -> list[list[uuid.UUID]]:
            return [
                find(
                    session=session,
                    q=q,
                    conditions=conditions,
                    sort=ArticleSort.RELEVANCE,
                    offset=offset,
                    limit=limit,
                ).ids
                for offset in range(0, 70, limit)
            ]

        for q in ("memory fear", "calm", "nerve block dose"):
            for conditions in filters.values():
                monkeypatch.setattr(search, "_MIN_CANDIDATES", 10_000)  # every hit at once
                everything = pages(q, conditions, 7)
                assert sum(map(len, everything)) > 7  # more than one page to agree on
                for few in (1, 3):  # few candidates: the filters and pages run past them
                    monkeypatch.setattr(search, "_MIN_CANDIDATES", few)
                    monkeypatch.setattr(search, "_CANDIDATES_PER_ROW", 1)
                    assert pages(q, conditions, 7) == everything, (q, few)
    engine.dispose()
