"""The editorial workflow over HTTP: drafts and revisions (`content:write`), reviews by a
clinician's key (`content:review`), and publishing (`content:write`). Reads are open to both."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query
from starlette.responses import Response

from api.auth import ContentEditor, ContentReview, ContentWrite
from api.deps import PaginationDep, SessionDep, SettingsDep
from api.links import admin_article_path
from schemas.common import PageMeta, problem_responses
from schemas.editorial import (
    ApprovalCreate,
    ArticleAdmin,
    ArticleAdminList,
    ArticleWrite,
    PublishRequest,
    RejectionCreate,
    ReviewRecord,
    RevisionDiff,
    RevisionList,
    RevisionPublic,
)
from schemas.text import Line
from schemas.vocabulary import LOCALE_PATTERN, ArticleStatus, ReviewDecision
from services.content import admin_views, editorial, publishing, reviews
from services.content.revisions import Snapshot, section_diff

router = APIRouter(prefix="/v1/admin/articles", tags=["admin: editorial"])
ArticleId = Annotated[uuid.UUID, Path(description="The article's id.")]
# Revision numbers are 32-bit in the database.
RevisionNumber = Annotated[int, Path(ge=1, le=2_147_483_647, description="A revision number.")]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=200,
        description='The ETag you read (`"r3"`): the write fails with 412 if another came first.',
    ),
]


def _answer(
    response: Response, session: SessionDep, settings: SettingsDep, article_id: uuid.UUID
) -> ArticleAdmin:
    article = editorial.get(session, article_id)
    response.headers["ETag"] = editorial.etag(article)
    return admin_views.article_view(session, article, production=settings.env == "production")


@router.post(
    "",
    name="create_article",
    status_code=201,
    summary="Create a draft article",
    response_model=ArticleAdmin,
    responses=problem_responses(401, 403, 409, 415, 422),
)
def create_article(
    body: ArticleWrite,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    principal: ContentWrite,
) -> ArticleAdmin:
    """A new draft (revision 1), checked by the content folder's rules with the same messages.
    The answer's `ETag` is what a `PUT` names in `If-Match`. `content:write`; audited."""
    article = editorial.create(session=session, content=body, actor=principal)
    response.headers["Location"] = admin_article_path(article.id)
    return _answer(response, session, settings, article.id)


@router.get(
    "",
    name="list_admin_articles",
    summary="List articles in any state",
    response_model=ArticleAdminList,
    responses=problem_responses(401, 403, 422),
)
def list_admin_articles(
    session: SessionDep,
    pagination: PaginationDep,
    _principal: ContentEditor,
    status: Annotated[ArticleStatus | None, Query(description="Only this state.")] = None,
    locale: Annotated[str | None, Query(pattern=LOCALE_PATTERN)] = None,
    q: Annotated[Line | None, Query(max_length=200, description="In the title or slug.")] = None,
) -> ArticleAdminList:
    """Drafts, published and archived articles, the most recently changed first
    (`content:write` or `content:review`)."""
    rows, total = editorial.page(
        session=session,
        where=editorial.ArticleFilter(status=status, locale=locale, q=(q or "").strip() or None),
        page=pagination.page,
        page_size=pagination.page_size,
    )
    return ArticleAdminList(
        items=[admin_views.summary(a) for a in rows],
        meta=PageMeta(total=total, page=pagination.page, page_size=pagination.page_size),
    )


@router.get(
    "/{article_id}",
    name="get_admin_article",
    summary="Read an article in any state",
    response_model=ArticleAdmin,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def get_admin_article(
    article_id: ArticleId,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    _principal: ContentEditor,
) -> ArticleAdmin:
    """The newest revision's content, its reviews, and what publishing it still needs; `ETag`
    names the revision (`content:write` or `content:review`)."""
    return _answer(response, session, settings, article_id)


@router.put(
    "/{article_id}",
    name="update_article",
    summary="Write the next revision",
    response_model=ArticleAdmin,
    responses=problem_responses(401, 403, 404, 409, 412, 415, 422, 428),
)
def update_article(
    article_id: ArticleId,
    body: ArticleWrite,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    principal: ContentWrite,
    if_match: IfMatch = None,
) -> ArticleAdmin:
    """The whole article as it should read: a new revision unless nothing changed. Needs
    `If-Match` with the ETag read (428 without, 412 when another write came first). Slug and
    locale cannot change. A published article stays as published until the new revision is
    approved and published. `content:write`; audited."""
    editorial.update(
        session=session, article_id=article_id, content=body, if_match=if_match, actor=principal
    )
    return _answer(response, session, settings, article_id)


@router.get(
    "/{article_id}/revisions",
    name="list_article_revisions",
    summary="List an article's revisions",
    response_model=RevisionList,
    responses=problem_responses(401, 403, 404, 422),
)
def list_article_revisions(
    article_id: ArticleId, session: SessionDep, _principal: ContentEditor
) -> RevisionList:
    """Every stored revision, newest first, and whether an approval names it (`content:write`
    or `content:review`)."""
    article = editorial.get(session, article_id)
    approved = admin_views.approved_hashes(session, article)
    return RevisionList(
        items=[
            admin_views.revision_summary(row, approved)
            for row in editorial.revisions(session, article)
        ]
    )


@router.get(
    "/{article_id}/revisions/{revision}",
    name="get_article_revision",
    summary="Read one revision",
    response_model=RevisionPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def get_article_revision(
    article_id: ArticleId,
    revision: RevisionNumber,
    session: SessionDep,
    _principal: ContentEditor,
) -> RevisionPublic:
    """One revision whole (`content:write` or `content:review`)."""
    article = editorial.get(session, article_id)
    row = editorial.revision_row(session, article, revision)
    return admin_views.revision_view(row, admin_views.approved_hashes(session, article))


@router.get(
    "/{article_id}/revisions/{revision}/diff",
    name="diff_article_revisions",
    summary="Compare two revisions",
    response_model=RevisionDiff,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def diff_article_revisions(
    article_id: ArticleId,
    revision: RevisionNumber,
    session: SessionDep,
    _principal: ContentEditor,
    against: Annotated[
        int | None,
        Query(ge=1, le=2_147_483_647, description="The older revision (default: the one before)."),
    ] = None,
) -> RevisionDiff:
    """A unified diff per section (by key) and per other field, from `against` to `revision`
    (`content:write` or `content:review`)."""
    article = editorial.get(session, article_id)
    new = editorial.revision_row(session, article, revision)
    if against is None:
        older = [r for r in editorial.revisions(session, article) if r.revision < revision]
        old = older[0] if older else new
    else:
        old = editorial.revision_row(session, article, against)
    changes = section_diff(Snapshot.load(old.snapshot), Snapshot.load(new.snapshot))
    return RevisionDiff.model_validate(
        {"revision": new.revision, "against": old.revision, "changes": changes}
    )


@router.post(
    "/{article_id}/revisions/{revision}/restore",
    name="restore_article_revision",
    summary="Make a new revision equal to an old one",
    response_model=ArticleAdmin,
    responses=problem_responses(401, 403, 404, 409, 412, 422),
)
def restore_article_revision(
    article_id: ArticleId,
    revision: RevisionNumber,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    principal: ContentWrite,
    if_match: IfMatch = None,
) -> ArticleAdmin:
    """The next revision holds revision `revision`'s content (nothing is made when the newest
    already does). With `If-Match`, only if no other write came first. `content:write`;
    audited."""
    editorial.restore(
        session=session,
        article_id=article_id,
        revision=revision,
        if_match=if_match,
        actor=principal,
    )
    return _answer(response, session, settings, article_id)


@router.post(
    "/{article_id}/revisions/{revision}/approvals",
    name="approve_article_revision",
    status_code=201,
    summary="Approve one revision",
    response_model=ReviewRecord,
    responses=problem_responses(401, 403, 404, 409, 415, 422),
)
def approve_article_revision(
    article_id: ArticleId,
    revision: RevisionNumber,
    body: ApprovalCreate,
    session: SessionDep,
    principal: ContentReview,
) -> ReviewRecord:
    """The key's reviewer signs off exactly this revision's content (its hash), with when it
    must be reviewed again (default six months). The key or reviewer that wrote the revision
    cannot (403). `content:review`, by a key bound to a reviewer; audited, never deleted."""
    return _decide(session, principal, article_id, revision, ReviewDecision.APPROVED, body)


@router.post(
    "/{article_id}/revisions/{revision}/rejections",
    name="reject_article_revision",
    status_code=201,
    summary="Ask for changes to one revision",
    response_model=ReviewRecord,
    responses=problem_responses(401, 403, 404, 409, 415, 422),
)
def reject_article_revision(
    article_id: ArticleId,
    revision: RevisionNumber,
    body: RejectionCreate,
    session: SessionDep,
    principal: ContentReview,
) -> ReviewRecord:
    """The key's reviewer asks for changes (the note says which); it withdraws an approval of
    the same content given earlier. `content:review`; audited, never deleted."""
    return _decide(session, principal, article_id, revision, ReviewDecision.CHANGES_REQUESTED, body)


def _decide(
    session: SessionDep,
    principal: ContentReview,
    article_id: uuid.UUID,
    revision: int,
    decision: ReviewDecision,
    body: ApprovalCreate | RejectionCreate,
) -> ReviewRecord:
    record = reviews.decide(
        session=session,
        article_id=article_id,
        revision=revision,
        decision=decision,
        actor=principal,
        note=body.note,
        next_review_due=body.next_review_due if isinstance(body, ApprovalCreate) else None,
        role=body.role,
    )
    return admin_views.review_record(record, reviews.reviewer_of(session, record))


@router.post(
    "/{article_id}/publish",
    name="publish_article",
    summary="Publish an approved revision, now or at a time",
    response_model=ArticleAdmin,
    responses=problem_responses(401, 403, 404, 409, 415, 422),
)
def publish_article(
    article_id: ArticleId,
    body: PublishRequest,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    principal: ContentWrite,
) -> ArticleAdmin:
    """Publish revision `revision` when a reviewer approved exactly its content and the policy
    holds (required disclaimers, a safety section, three references with a DOI or PMID and, in
    production, an approver who is not a placeholder); otherwise 409 listing every unmet
    requirement in `unmet_requirements`. A future `at` schedules it: it is published within
    seconds of that time, once. The change feed, the cache and the webhooks follow as after an
    import. `content:write`; audited."""
    publishing.publish(
        session=session,
        article_id=article_id,
        revision=body.revision,
        at=body.at,
        actor=principal,
        production=settings.env == "production",
    )
    return _answer(response, session, settings, article_id)


@router.post(
    "/{article_id}/unpublish",
    name="unpublish_article",
    summary="Take a published article down (back to draft)",
    response_model=ArticleAdmin,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def unpublish_article(
    article_id: ArticleId,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    principal: ContentWrite,
) -> ArticleAdmin:
    """Back to draft: no longer public, and any scheduled publish is cancelled (409 when it is
    not published). `content:write`; audited."""
    publishing.take_down(session=session, article_id=article_id, archive=False, actor=principal)
    return _answer(response, session, settings, article_id)


@router.post(
    "/{article_id}/archive",
    name="archive_article",
    summary="Archive an article",
    response_model=ArticleAdmin,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def archive_article(
    article_id: ArticleId,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    principal: ContentWrite,
) -> ArticleAdmin:
    """Kept, never public, out of the editorial default view; any scheduled publish is
    cancelled. `content:write`; audited."""
    publishing.take_down(session=session, article_id=article_id, archive=True, actor=principal)
    return _answer(response, session, settings, article_id)
