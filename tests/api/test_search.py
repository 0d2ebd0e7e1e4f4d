"""Search: hits ranked by relevance, each with a highlighted snippet; `sort=newest` for the
date order; totals exact up to a bound and flagged as estimates beyond it."""

import re
import shutil
from pathlib import Path
from typing import Any

from sqlmodel import Session

from db.models import Article
from services.articles import PUBLISHED
from services.search import Hits, find, snippets
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
    r = client.get("/v1/articles?q=ketamine&sort=oldest")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "query.sort"


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
                newest_first=False,
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
