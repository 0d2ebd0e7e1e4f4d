"""A content folder's reviewers and approvals (reviewers.yaml, approvals.yaml), and what every
published article the import wrote shows as its medical review: the reviewer record of the
approval that stands for its exact content, wherever that approval was given (a file or the
API). `strict` refuses a published article without one, overdue for review, or published
before it was approved; production also refuses one approved only by a placeholder."""

import uuid
from datetime import date

from sqlmodel import Session, col, select

from db.editorial_models import ArticleReview, Reviewer
from db.models import Article, ArticleRevision, as_utc
from schemas.vocabulary import ArticleStatus, ReviewDecision
from services.content import reviewers
from services.content.article_rows import announce
from services.content.files import ApprovalFile, ContentBundle, ReviewerFile
from services.content.report import ImportReport
from services.content.reviews import approval, signoff_records, standing, unmet


def upsert_reviewers(
    session: Session, files: list[ReviewerFile], report: ImportReport
) -> list[str]:
    """Add or update the listed reviewers (by id; the registry may hold more); returns the
    problems (an NPI another record holds)."""
    problems = []
    for index, f in enumerate(files):
        values = f.model_dump(exclude={"id"})
        row = session.get(Reviewer, f.id)
        if row is not None and all(getattr(row, k) == v for k, v in values.items()):
            continue
        if f.npi is not None:
            holder = session.exec(select(Reviewer.id).where(Reviewer.npi == f.npi)).first()
            if holder is not None and holder != f.id:
                problems.append(f"reviewers.yaml: [{index}].npi: {f.npi} is reviewer {holder}'s")
                continue
        if row is None:
            session.add(Reviewer(id=f.id, **values))
        else:
            for k, v in values.items():
                setattr(row, k, v)
        report.reviewers += 1
    session.flush()
    return problems


def record_approvals(
    session: Session, files: list[ApprovalFile], report: ImportReport
) -> list[str]:
    """Store each listed approval the database lacks, on the article revision it names by
    hash (an approval of content the article never had covers nothing and is skipped);
    returns the problems (an unknown article or reviewer)."""
    problems = []
    for index, f in enumerate(files):
        where = f"approvals.yaml: [{index}]"
        article = session.exec(
            select(Article).where(Article.slug == f.article, Article.locale == f.locale)
        ).first()
        if article is None:
            problems.append(f"{where}.article: no article '{f.article}' ({f.locale})")
            continue
        if session.get(Reviewer, f.reviewer) is None:
            problems.append(f"{where}.reviewer: no reviewer {f.reviewer} (reviewers.yaml)")
            continue
        revision = session.exec(
            select(ArticleRevision.revision)
            .where(
                ArticleRevision.article_id == article.id,
                ArticleRevision.content_hash == f.content_hash,
            )
            .order_by(col(ArticleRevision.revision))
        ).first()
        if revision is None:
            report.stale_approvals += 1
            continue
        known = session.exec(
            select(ArticleReview.id).where(
                ArticleReview.article_id == article.id,
                ArticleReview.content_hash == f.content_hash,
                ArticleReview.reviewer_id == f.reviewer,
                ArticleReview.role == f.role,
                ArticleReview.decision == ReviewDecision.APPROVED,
                ArticleReview.decided_at == f.approved_at,
            )
        ).first()
        if known is not None:
            continue
        decision = ArticleReview(
            article_id=article.id,
            revision=revision,
            content_hash=f.content_hash,
            decision=ReviewDecision.APPROVED,
            role=f.role,
            reviewer_id=f.reviewer,
            decided_at=f.approved_at,
            next_review_due=f.next_review_due,
            note=f.note,
        )
        # Not audited: the record is the file's, and the row says so (no API key).
        session.add(decision)
        report.approvals += 1
    session.flush()
    return problems


def apply_reviews(
    session: Session,
    bundle: ContentBundle,
    imported: dict[str, uuid.UUID],
    *,
    strict: bool,
    production: bool,
    today: date,
    report: ImportReport,
) -> list[str]:
    """Each published article the import wrote shows the approval standing for its content
    (or none); returns the review problems when `strict`, and those of a placeholder reviewer
    too in `production`."""
    problems = []
    for relative, file in bundle.articles.items():
        article = session.get(Article, imported[relative])
        if article is None or file.status != ArticleStatus.PUBLISHED or not article.source_path:
            continue  # an article written over HTTP got its review when it was published
        found = approval(session, article, article.content_hash)
        if found is None:
            report.unapproved.append(f"{file.slug} ({file.locale})")
        if strict:
            problems += [
                f"{relative}: {problem}"
                for problem in unmet(
                    session,
                    article,
                    article.content_hash,
                    missing="a published article needs an approval of its content "
                    f"{article.content_hash[:12]} (approvals.yaml, or over HTTP)",
                    translation_of=file.translation_of,
                    production=production,
                    today=today,
                    published_at=article.published_at,
                )
            ]
        wanted = (
            (
                reviewers.public_record(found[1]),
                as_utc(found[0].decided_at).date(),
                found[0].next_review_due,
                found[0].id,
                signoff_records(standing(session, article, article.content_hash)),
            )
            if found
            else (None, None, None, None, [])
        )
        held = (
            article.reviewer,
            article.reviewed_at,
            article.next_review_due,
            article.approval_id,
            article.review_signoffs,
        )
        if held != wanted:
            (
                article.reviewer,
                article.reviewed_at,
                article.next_review_due,
                article.approval_id,
                article.review_signoffs,
            ) = wanted
            session.add(article)
            if article.id not in report.entered and announce(
                session=session, article=article, before=article.status
            ):
                report.entered.add(article.id)
            report.reviews_changed += 1
    session.flush()
    return problems
