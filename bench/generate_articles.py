"""Generate many published articles (through the real import path) for growth benchmarks."""

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from core.config import PROJECT_ROOT
from db.session import unit_of_work
from services.content.files import ArticleFile
from services.content.importer import apply_bundle
from services.content.rules import load_bundle

WORDS = [
    "memory",
    "fear",
    "calm",
    "nerve",
    "block",
    "infusion",
    "therapy",
    "sleep",
    "trauma",
    "anxiety",
    "mood",
    "clinic",
    "brain",
    "stress",
    "recovery",
    "pathway",
    "learning",
    "session",
    "dose",
    "review",
    "safety",
    "evidence",
    "patient",
    "plan",
    "body",
    "signal",
    "system",
    "response",
    "reset",
    "limbic",
    "amygdala",
    "rigid",
    "flexible",
    "habit",
    "relief",
    "energy",
    "cell",
    "repair",
    "coenzyme",
    "vein",
    "monitor",
    "nurse",
    "doctor",
    "consult",
    "question",
    "answer",
    "week",
    "month",
    "year",
    "daily",
]
THERAPIES = ["iv-ketamine", "stellate-ganglion-block", "nad-plus"]
CONDITIONS = ["ptsd", "depression", "anxiety", "chronic-pain"]


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def make_article(index: int, rng: random.Random) -> ArticleFile:
    """One synthetic published article with five sections."""
    sections = [
        {
            "key": f"part-{i}",
            "heading": _sentence(rng, 3)[:-1],
            "kind": "mechanism" if i else "overview",
            "markdown": "\n\n".join(_sentence(rng, 25) for _ in range(3)),
        }
        for i in range(5)
    ]
    return ArticleFile.model_validate(
        {
            "slug": f"generated-article-{index}",
            "locale": "en",
            "title": f"Generated article {index}: " + _sentence(rng, 4)[:-1],
            "summary": _sentence(rng, 20),
            "status": "published",
            "published_at": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=index),
            "therapies": rng.sample(THERAPIES, rng.randint(1, 2)),
            "conditions": rng.sample(CONDITIONS, rng.randint(0, 2)),
            "sections": sections,
        }
    )


def generate(engine: Engine, count: int, seed: int = 7) -> None:
    """Import the demo content plus `count` generated articles in one transaction."""
    rng = random.Random(seed)
    bundle = load_bundle(PROJECT_ROOT / "content")
    for index in range(count):
        bundle.articles[f"generated/{index}.md"] = make_article(index, rng)
    with unit_of_work(engine) as session:
        apply_bundle(session=session, bundle=bundle)
