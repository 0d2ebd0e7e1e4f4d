"""Write what the database holds as a content folder that `import-content` reads: taxonomies,
disclaimers, consent texts, articles (the revision each shows), their images (the sources kept
whole), the reviewer registry, and the approvals standing for each article's content. Export,
import into a fresh database, import again: the second import changes nothing."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, col, select

from db.editorial_models import Reviewer
from db.lead_models import ConsentText, LegalDocument
from db.models import Article, ArticleRevision, Condition, Disclaimer, MediaAsset, Therapy, as_utc
from schemas.vocabulary import ArticleStatus, ReviewRole
from services.content import reviews
from services.content.revisions import Snapshot

HERO_FIELDS = ("file", "alt", "caption", "credit")


@dataclass
class ExportReport:
    """What an export wrote."""

    articles: int = 0
    images: int = 0
    reviewers: int = 0
    approvals: int = 0


def export_content(*, session: Session, out: Path) -> ExportReport:
    """Write the folder at `out` (created; files there of the same names are replaced)."""
    report = ExportReport()
    (out / "articles").mkdir(parents=True, exist_ok=True)
    (out / "media").mkdir(exist_ok=True)
    images: dict[str, str] = {}  # file name -> sha256
    therapies = [
        _therapy(t, images) for t in session.exec(select(Therapy).order_by(col(Therapy.slug)))
    ]
    _write_yaml(out / "therapies.yaml", therapies)
    _write_yaml(
        out / "conditions.yaml",
        [_condition(c) for c in session.exec(select(Condition).order_by(col(Condition.slug)))],
    )
    _write_yaml(out / "disclaimers.yaml", _disclaimers(session))
    _write_yaml(out / "consent.yaml", _consent(session))
    _write_legal(session, out)
    approvals = []
    names: set[str] = set()
    for article in session.exec(select(Article).order_by(col(Article.slug), col(Article.locale))):
        name = _file_name(article, names)
        front, body = _article(session, article, images)
        (out / name).write_text(
            "---\n"
            + yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=100)
            + "---\n"
            + body,
            encoding="utf-8",
        )
        report.articles += 1
        for decision, _ in reviews.standing(session, article, article.content_hash):
            approvals.append(
                {
                    "article": article.slug,
                    "locale": article.locale,
                    "content_hash": decision.content_hash,
                    "reviewer": str(decision.reviewer_id),
                    **({"role": decision.role} if decision.role != ReviewRole.MEDICAL else {}),
                    "approved_at": as_utc(decision.decided_at).isoformat(),
                    "next_review_due": decision.next_review_due.isoformat()
                    if decision.next_review_due
                    else None,
                    **({"note": decision.note} if decision.note else {}),
                }
            )
    for file, sha256 in images.items():
        asset = session.exec(select(MediaAsset).where(MediaAsset.sha256 == sha256)).one()
        (out / "media" / file).write_bytes(asset.data)
        report.images += 1
    registry = [
        _reviewer(r)
        for r in session.exec(select(Reviewer).order_by(col(Reviewer.created_at), col(Reviewer.id)))
    ]
    _write_yaml(out / "reviewers.yaml", registry)
    _write_yaml(out / "approvals.yaml", approvals)
    report.reviewers, report.approvals = len(registry), len(approvals)
    return report


def _write_yaml(path: Path, items: list[dict[str, Any]]) -> None:
    path.write_text(
        yaml.safe_dump(items, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8"
    )


def _hero(stored: dict[str, Any] | None, images: dict[str, str]) -> dict[str, Any] | None:
    if not stored:
        return None
    file = stored["file"]
    if images.setdefault(file, stored["sha256"]) != stored["sha256"]:
        raise ValueError(f"two different images are both named {file}")
    return {k: stored[k] for k in HERO_FIELDS}


def _therapy(t: Therapy, images: dict[str, str]) -> dict[str, Any]:
    hero = _hero(t.hero_image, images)
    return {
        "slug": t.slug,
        "name": t.name,
        "description": t.description,
        "regulatory_status": t.regulatory_status,
        "regulatory_note": t.regulatory_note,
        **({"hero_image": hero} if hero else {}),
        **({"translations": t.translations} if t.translations else {}),
    }


def _condition(c: Condition) -> dict[str, Any]:
    translations = {
        loc: {**words, **({"keywords": c.keywords[loc]} if c.keywords.get(loc) else {})}
        for loc, words in c.translations.items()
    }
    return {
        "slug": c.slug,
        "name": c.name,
        "description": c.description,
        "crisis_risk": c.crisis_risk,
        **({"keywords": c.keywords["*"]} if c.keywords.get("*") else {}),
        **({"translations": translations} if translations else {}),
    }


def _disclaimers(session: Session) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Disclaimer).where(col(Disclaimer.active)).order_by(col(Disclaimer.id))
    )
    return [
        {
            "key": d.key,
            "locale": d.locale,
            "title": d.title,
            "placement": d.placement,
            "applies_to": d.applies_to,
            **({"slugs": d.rule_slugs} if d.rule_slugs else {}),
            "text": d.text,
        }
        for d in rows
    ]


def _consent(session: Session) -> list[dict[str, Any]]:
    rows = session.exec(select(ConsentText).order_by(col(ConsentText.id)))
    return [
        {
            "version": c.version,
            "locale": c.locale,
            "text": c.text,
            "sms_text": c.sms_text,
            **({"age_text": c.age_text} if c.age_text else {}),
            **({"emergency_notice": c.emergency_notice} if c.emergency_notice else {}),
        }
        for c in rows
    ]


def _write_legal(session: Session, out: Path) -> None:
    """The current version of each legal text, as content/legal/ holds it."""
    (out / "legal").mkdir(exist_ok=True)
    for doc in session.exec(select(LegalDocument).where(col(LegalDocument.current))):
        name = doc.key if doc.locale == "en" else f"{doc.key}.{doc.locale}"
        front = {
            "key": doc.key,
            "locale": doc.locale,
            "title": doc.title,
            "effective": doc.effective,
        }
        (out / "legal" / f"{name}.md").write_text(
            "---\n"
            + yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=100)
            + "---\n"
            + doc.markdown
            + "\n",
            encoding="utf-8",
        )


def _file_name(article: Article, taken: set[str]) -> str:
    name = article.source_path or f"articles/{article.slug}.md"
    if name in taken:
        name = f"articles/{article.slug}.{article.locale}.md"
    taken.add(name)
    return name


def _article(
    session: Session, article: Article, images: dict[str, str]
) -> tuple[dict[str, Any], str]:
    """Front matter and body of the revision the article shows."""
    row = session.exec(
        select(ArticleRevision).where(
            ArticleRevision.article_id == article.id, ArticleRevision.revision == article.revision
        )
    ).first()
    if row is None:  # archived by an import, which stores no revision: the newest there is
        row = session.exec(
            select(ArticleRevision)
            .where(ArticleRevision.article_id == article.id)
            .order_by(col(ArticleRevision.revision).desc())
        ).first()
    assert row is not None, "every article has its first revision"
    content = Snapshot.load(row.snapshot).content.model_dump(mode="json", exclude_none=True)
    sections = content.pop("sections")
    front: dict[str, Any] = {
        "slug": content.pop("slug"),
        "locale": content.pop("locale"),
        **(
            {"translation_of": content.pop("translation_of")} if "translation_of" in content else {}
        ),
        "title": content.pop("title"),
        "summary": content.pop("summary"),
        "status": article.status,
    }
    if article.status == ArticleStatus.PUBLISHED and article.published_at is not None:
        front["published_at"] = as_utc(article.published_at).isoformat()
    front.update(content)
    hero = _hero(article.hero_image, images)
    if hero:
        front["hero_image"] = hero
    body = "\n".join(
        f"## {s['heading']} {{#{s['key']} kind={s['kind']}}}\n\n{s['markdown']}\n" for s in sections
    )
    return front, body


def _reviewer(r: Reviewer) -> dict[str, Any]:
    record = {
        "id": str(r.id),
        "name": r.name,
        "credentials": r.credentials,
        "specialty": r.specialty,
        "licence_state": r.licence_state,
        "licence_number": r.licence_number,
        "npi": r.npi,
        "profile_url": r.profile_url,
        "placeholder": r.placeholder,
    }
    return {k: v for k, v in record.items() if v is not None}
