"""Reviewers' decisions on one revision of an article: bound to its content hash, appended and
audited, never edited or deleted. An approval names exactly the text it approves, so an edit
is never approved by an earlier sign-off; the same text (a restore, a re-import) still is."""

import calendar
import uuid
from datetime import date, datetime

from sqlmodel import Session, col, func, select

from core.errors import ConflictError, ForbiddenError
from db.editorial_models import ArticleReview, Reviewer
from db.lead_models import ApiKey
from db.models import Article, ArticleRevision, as_utc, utcnow
from schemas.vocabulary import AuditAction, ReviewDecision, ReviewRole
from services.access import audit
from services.access.api_keys import Principal
from services.content import editorial, reviewers

REVIEW_INTERVAL_MONTHS = 6


def months_after(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has fewer days)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def decide(
    *,
    session: Session,
    article_id: uuid.UUID,
    revision: int,
    decision: ReviewDecision,
    actor: Principal,
    note: str | None,
    next_review_due: date | None = None,
    role: ReviewRole = ReviewRole.MEDICAL,
) -> ArticleReview:
    """Record `actor`'s reviewer's decision on one revision, as a medical or a translation
    review. A key that is bound to no reviewer, or whose reviewer (or the key itself) wrote the
    revision, is refused (403)."""
    if actor.reviewer_id is None:
        raise ForbiddenError(
            "This API key acts for no reviewer; create one with --reviewer.",
            code="not_a_reviewer",
        )
    article = editorial.get(session, article_id, for_update=True)
    row = editorial.revision_row(session, article, revision)
    if not row.content_hash:
        raise ConflictError(
            f"Revision {revision} was stored before revisions had a content hash; restore it "
            "to make a revision that can be reviewed.",
            code="revision_not_reviewable",
        )
    if _wrote(session, article, row.content_hash, actor):
        raise ForbiddenError(
            f"This content (revision {revision}) was written by this key or its reviewer, in "
            "this or another revision; another reviewer must review it.",
            code="own_revision",
        )
    due = None
    if decision == ReviewDecision.APPROVED:
        due = next_review_due or months_after(utcnow().date(), REVIEW_INTERVAL_MONTHS)
    record = ArticleReview(
        article_id=article.id,
        revision=revision,
        content_hash=row.content_hash,
        decision=decision,
        role=role,
        reviewer_id=actor.reviewer_id,
        api_key_id=actor.key_id,
        next_review_due=due,
        note=note,
    )
    session.add(record)
    audit.record(
        session=session,
        actor=actor.key_id,
        action=AuditAction.ARTICLE_APPROVE
        if decision == ReviewDecision.APPROVED
        else AuditAction.ARTICLE_REQUEST_CHANGES,
        detail={
            "article_id": str(article.id),
            "revision": revision,
            "content_hash": row.content_hash,
            "reviewer_id": str(actor.reviewer_id),
            "review_id": str(record.id),
            "role": role,
        },
    )
    session.flush()
    return record


def _wrote(session: Session, article: Article, content_hash: str, actor: Principal) -> bool:
    """Whether `actor`'s key, or a key of its reviewer, wrote any revision of the article
    that holds this content (a restore by someone else does not make it theirs to approve)."""
    authors = session.exec(
        select(ArticleRevision.author_key_id, ApiKey.reviewer_id)
        .join(ApiKey, col(ApiKey.id) == col(ArticleRevision.author_key_id), isouter=True)
        .where(
            ArticleRevision.article_id == article.id,
            ArticleRevision.content_hash == content_hash,
        )
    ).all()
    return any(
        key_id == actor.key_id or (reviewer is not None and reviewer == actor.reviewer_id)
        for key_id, reviewer in authors
    )


def decisions(
    session: Session, article: Article, content_hash: str
) -> list[tuple[ArticleReview, Reviewer]]:
    """Every decision on this content of the article, oldest first."""
    return list(
        session.exec(
            select(ArticleReview, Reviewer)
            .join(Reviewer, col(Reviewer.id) == col(ArticleReview.reviewer_id))
            .where(
                ArticleReview.article_id == article.id, ArticleReview.content_hash == content_hash
            )
            .order_by(col(ArticleReview.decided_at), col(ArticleReview.id))
        )
    )


def standing(
    session: Session, article: Article, content_hash: str
) -> list[tuple[ArticleReview, Reviewer]]:
    """Every sign-off that stands for this content, oldest first: in each role, each
    reviewer's approvals since that role's last request for changes (which withdraws them),
    the newest of each reviewer's."""
    found = decisions(session, article, content_hash) if content_hash else []
    kept: dict[tuple[str, uuid.UUID], tuple[ArticleReview, Reviewer]] = {}
    for decision, reviewer in found:
        if decision.decision == ReviewDecision.APPROVED:
            kept.pop((decision.role, reviewer.id), None)
            kept[(decision.role, reviewer.id)] = (decision, reviewer)
        else:
            for key in [k for k in kept if k[0] == decision.role]:
                del kept[key]
    return list(kept.values())


def approval(
    session: Session, article: Article, content_hash: str
) -> tuple[ArticleReview, Reviewer] | None:
    """The medical approval that stands for this content: the newest of `standing`'s medical
    sign-offs, which is the newest medical decision when that decision approves (a later
    request for changes withdraws the sign-off)."""
    medical = [
        pair
        for pair in standing(session, article, content_hash)
        if pair[0].role == ReviewRole.MEDICAL
    ]
    return medical[-1] if medical else None


def unmet(
    session: Session,
    article: Article,
    content_hash: str,
    *,
    missing: str,
    translation_of: str | None,
    production: bool,
    today: date,
    published_at: datetime | None = None,
) -> list[str]:
    """What the review of this content still lacks before it may be public, one line each
    (`missing` says what an absent medical approval is): a standing medical approval that is
    not overdue; for a translation, a standing translation review too; when the publication
    time is given, the article's first medical approval (of any of its texts) before it. In
    production a placeholder (demo) reviewer's sign-off counts for nothing: without a real
    one, each placeholder standing in its place is named."""
    problems = []
    signoffs = standing(session, article, content_hash)
    for role, lacking in (
        (ReviewRole.MEDICAL, missing),
        (
            ReviewRole.TRANSLATION,
            f"a translation of '{translation_of}' needs a translation review "
            "(an approval with role 'translation')",
        ),
    ):
        if role == ReviewRole.TRANSLATION and translation_of is None:
            continue
        given = [(d, r) for d, r in signoffs if d.role == role]
        counted = [(d, r) for d, r in given if not (production and r.placeholder)]
        if counted:
            due = counted[-1][0].next_review_due
            if role == ReviewRole.MEDICAL and due is not None and due < today:
                problems.append(f"approval: review overdue since {due}")
        elif production and given:
            problems += [
                f"approval: '{r.name}' is a placeholder reviewer (production)" for _, r in given
            ]
        else:
            problems.append(f"approval: {lacking}")
    first = session.exec(
        select(func.min(ArticleReview.decided_at)).where(
            ArticleReview.article_id == article.id,
            ArticleReview.role == ReviewRole.MEDICAL,
            ArticleReview.decision == ReviewDecision.APPROVED,
        )
    ).one()
    if published_at is not None and first is not None and as_utc(published_at) < as_utc(first):
        problems.append(
            f"published_at: {as_utc(published_at):%Y-%m-%dT%H:%M:%SZ} is before the first "
            f"medical approval ({as_utc(first):%Y-%m-%dT%H:%M:%SZ}): an article is published "
            "only once it is reviewed"
        )
    return problems


def signoff_records(signoffs: list[tuple[ArticleReview, Reviewer]]) -> list[dict[str, object]]:
    """The sign-offs as an article row keeps them (schemas.articles.ReviewSignoff)."""
    return [
        {
            "role": decision.role,
            "reviewer": reviewers.public_record(reviewer),
            "reviewed_at": as_utc(decision.decided_at).date().isoformat(),
        }
        for decision, reviewer in signoffs
    ]


def reviewer_of(session: Session, decision: ArticleReview) -> Reviewer:
    """The reviewer who made a decision."""
    reviewer = session.get(Reviewer, decision.reviewer_id)
    assert reviewer is not None, "a decision names a registered reviewer (foreign key)"
    return reviewer
