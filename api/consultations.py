"""Public lead intake: the consultation request form and the consent text it shows."""

from collections.abc import Callable, Coroutine, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response

from api import form_posts
from api.deps import LocaleDep, SettingsDep, read_only_session
from api.errors import field_name
from api.links import lead_path, public_base_url
from api.response_cache import serve_cached
from core.config import Settings
from core.crypto import KeyRing
from core.errors import (
    DomainError,
    ForbiddenError,
    RateLimitedError,
    UnsupportedMediaTypeError,
    ValidationFailedError,
)
from core.logging import current_request_id
from core.metrics import LeadOutcome, observe_lead
from core.net import client_ip, rate_limit_key
from db.group_commit import GroupCommit
from db.session import run_read_only
from schemas.common import problem_responses
from schemas.leads import ConsentTextPublic, ConsultationRequestCreate, ConsultationRequestReceipt
from schemas.partial import valid_parts
from schemas.text import strip_controls
from services.leads import admission, checks, consent, intake
from services.leads.catalog import IntakeCatalog
from services.leads.rate_limit import RateLimiter

IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,255}$"


def _context(request: Request, settings: Settings) -> intake.SubmissionContext:
    return intake.SubmissionContext(
        client_ip=request.state.client_ip,
        user_agent=strip_controls(request.headers.get("user-agent", "")) or None,
        default_region=settings.phone_default_region,
        default_locale=settings.default_locale,
        request_id=current_request_id(),
        clinic_name=settings.name,
    )


LeadWriter = GroupCommit[intake.Submission, intake.SubmissionOutcome]


def lead_writer(
    engine: Engine, *, ring: KeyRing, catalog: IntakeCatalog, settings: Settings
) -> LeadWriter:
    """The app's intake: leads submitted together are stored together (db/group_commit)."""
    ttl = settings.idempotency_ttl

    def store(
        session: Session, submissions: Sequence[intake.Submission]
    ) -> list[intake.SubmissionOutcome]:
        return intake.intake_many(
            session=session,
            ring=ring,
            submissions=submissions,
            idempotency_ttl=ttl,
            catalog=catalog,
        )

    return GroupCommit(engine, store)


LeadAdmission = GroupCommit[admission.Candidate, admission.Verdict]


def lead_admission(
    engine: Engine, *, ring: KeyRing, limiter: RateLimiter, settings: Settings
) -> LeadAdmission:
    """The app's admission: requests that arrive together are admitted together, in one
    read-only session (services/leads/admission.py), before any of them reaches the writer."""
    ttl = settings.idempotency_ttl

    def admit(
        session: Session, candidates: Sequence[admission.Candidate]
    ) -> list[admission.Verdict]:
        return admission.admit_many(
            session=session,
            ring=ring,
            limiter=limiter,
            candidates=candidates,
            idempotency_ttl=ttl,
        )

    return GroupCommit(engine, admit, unit=run_read_only)


def _client(request: Request) -> str | None:
    peer = request.client.host if request.client else None
    # Every line, in order: reading only the first would believe a line the client sent
    # itself when the proxy appends its own line instead of extending the client's.
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    return client_ip(peer, forwarded or None, request.app.state.trusted_networks)


def _charge(request: Request) -> None:
    """Count a request that can be no retry (its body is refused) against its client's rate
    limit, or refuse it (429). It may ask Redis, so it runs in a worker thread."""
    admission.charge(
        limiter=request.app.state.lead_limiter, client=rate_limit_key(request.state.client_ip)
    )


def _all_errors(request: Request, exc: RequestValidationError) -> Exception:
    """The schema's errors and what the content says of the fields that passed it; or the
    429, since a body that fails its schema is never a retry and counts like any other."""
    try:
        _charge(request)
    except RateLimitedError as refused:
        return refused
    parts = valid_parts(ConsultationRequestCreate, exc.body)
    if not parts:
        return exc
    with read_only_session(request) as session:
        found = checks.field_errors(
            session=session,
            parts=parts,
            ctx=_context(request, request.app.state.settings),
            catalog=request.app.state.intake_catalog,
        )
    more = [
        {"loc": ("body", *e["field"].split(".")), "msg": e["message"], "type": e["type"]}
        for e in found
    ]
    return RequestValidationError([*exc.errors(), *more], body=exc.body)


class IntakeRoute(APIRoute):
    """A body that fails its schema is answered with every problem at once: the fields that
    passed are checked against the content too (phone, consent version, slugs), so a form
    needs one round trip, not two, to learn what to fix."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if "POST" not in (self.methods or ()):
            return handler

        async def route(request: Request) -> Response:
            # What the rate limit counts and the lead records; known before the body is read.
            request.state.client_ip = _client(request)
            return_to = None
            try:
                if form_posts.is_form(request):  # an HTML form: read as the JSON it stands for
                    if form_posts.other_charset(request):
                        raise UnsupportedMediaTypeError("Send a form body as UTF-8.")
                    allowed = request.app.state.settings.cors_origins
                    if form_posts.cross_site(request, allowed):
                        raise ForbiddenError(
                            "A form may be posted from the clinic's own sites only (an origin "
                            "in CLINIC_CORS_ORIGINS)."
                        )
                    post = form_posts.read_form(ConsultationRequestCreate, await request.body())
                    return_to = _return_to(request, post.return_to)
                    request = form_posts.as_json_request(request, post)
                response = await handler(request)
            except RequestValidationError as exc:
                problem = await run_in_threadpool(_all_errors, request, exc)
                if return_to is None:
                    raise problem from None
                return form_posts.see_other(return_to, _failure(problem))
            except HTTPException as exc:
                if exc.status_code == 400:  # a body not even text counts like any other
                    await run_in_threadpool(_charge, request)
                raise
            except DomainError as exc:
                if return_to is None:
                    raise
                return form_posts.see_other(return_to, _failure(exc))
            if return_to is None:
                return response
            receipt = ConsultationRequestReceipt.model_validate_json(bytes(response.body))
            return form_posts.see_other(return_to, [("lead", str(receipt.id))])

        return route


def _return_to(request: Request, value: str | None) -> str | None:
    """Where a browser's form post is sent back with a 303: its `return_to`, when the browser
    navigates (Accept: text/html); a return address off the allowed origins is a 422."""
    if value is None:
        return None
    try:
        address = form_posts.return_address(value, request.app.state.settings.cors_origins)
    except ValueError as exc:
        raise RequestValidationError(
            [{"loc": ("body", form_posts.RETURN_FIELD), "msg": str(exc), "type": "value_error"}]
        ) from None
    return address if form_posts.wants_html(request) else None


def _failure(problem: Exception) -> list[tuple[str, str]]:
    """A refused form post as the query its page is sent back with: the problem's code, and
    each field in error."""
    if isinstance(problem, RequestValidationError):
        return form_posts.failure_params(
            "validation_failed", (field_name(e["loc"]) for e in problem.errors())
        )
    assert isinstance(problem, DomainError)
    found = problem.extra.get("errors", []) if isinstance(problem, ValidationFailedError) else []
    return form_posts.failure_params(problem.code, (e["field"] for e in found))


router = APIRouter(prefix="/v1", tags=["consultation requests"], route_class=IntakeRoute)


async def guard_intake(request: Request) -> None:
    """Insist on JSON before the body is validated; a request refused here counts against the
    rate limit too, and over the limit it is a 429. A valid body is charged at admission, once
    a retry of a stored request (which never uses the limit up) is told from it."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        await run_in_threadpool(_charge, request)
        raise UnsupportedMediaTypeError(
            f"Send the request as application/json, or as an HTML form ({form_posts.FORM_MEDIA})."
        )


@router.post(
    "/consultation-requests",
    name="create_consultation_request",
    summary="Request a consultation",
    status_code=201,
    response_model=ConsultationRequestReceipt,
    responses={
        201: {
            "description": "Received. `Location` names the stored request (staff only).",
            "headers": {"Location": {"schema": {"type": "string"}}},
        },
        303: {
            "description": "An HTML form's post with `return_to`, from a browser (`Accept: "
            "text/html`): back to that page with `?lead=<id>`, or, refused, with "
            "`?error=<problem code>` and a `field=<name>` per input in error.",
            "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
        },
        **problem_responses(409, 413, 415, 422, 429),
        403: {
            "description": "An HTML form posted from a page of another site (its `Origin` is "
            "not in `CLINIC_CORS_ORIGINS`, or `Sec-Fetch-Site: cross-site`).",
            "content": problem_responses(403)[403]["content"],
        },
    },
    dependencies=[Depends(guard_intake)],
)
async def create_consultation_request(
    request: Request,
    body: ConsultationRequestCreate,
    settings: SettingsDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            pattern=IDEMPOTENCY_KEY,
            description="Any unique string (e.g. a UUID); retries with it are answered once.",
        ),
    ] = None,
) -> Response:
    """Store a consultation request once; answers with its id and time, never personal data.

    The body is JSON, or an HTML form (`application/x-www-form-urlencoded`) with the same
    fields: dotted names for nested ones (`consent.contact`, `source.article_slug`), repeated
    names for lists (`therapies`), an index for a list of objects
    (`source.disclaimers_shown.0.key`), `on` or `true` for a ticked checkbox, and an empty
    input left out. A form may carry `idempotency_key` (its Idempotency-Key) and `return_to`
    (an absolute URL on an origin in `CLINIC_CORS_ORIGINS`; any other is a 422): a browser is
    then sent back there with a 303. Validation and problems are the JSON body's."""
    # Admitted first (the rate limit: Redis, maybe), holding no lock or transaction; then the
    # claim, the checks and the inserts, in one unit of work with whatever other leads came
    # meanwhile. A 201 means stored.
    headers: dict[str, str] = {}
    if request.app.state.lead_limiter.limited:
        gate: LeadAdmission = request.app.state.lead_admission
        verdict = await gate.submit(
            admission.Candidate(
                data=body,
                idempotency_key=idempotency_key,
                client=rate_limit_key(request.state.client_ip),
            )
        )
        if isinstance(verdict, DomainError):
            raise verdict
        if verdict.decision is not None:
            headers = verdict.decision.headers()
    writer: LeadWriter = request.app.state.lead_writer
    outcome = await writer.submit(
        intake.Submission(
            data=body, ctx=_context(request, settings), idempotency_key=idempotency_key
        )
    )
    if isinstance(outcome, DomainError):
        raise outcome
    result = outcome
    headers["Location"] = lead_path(result.lead_id)
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    if settings.metrics_enabled:
        observe_lead(
            LeadOutcome.REPLAY
            if result.replayed
            else LeadOutcome.SPAM
            if body.website
            else LeadOutcome.ACCEPTED
        )
    receipt = ConsultationRequestReceipt(id=result.lead_id, created_at=result.created_at)
    return Response(
        receipt.model_dump_json(), status_code=201, media_type="application/json", headers=headers
    )


@router.get(
    "/consent-texts/current",
    name="get_current_consent_text",
    summary="Get the consent text a form must show",
    response_model=ConsentTextPublic,
    responses=problem_responses(304, 404, 422),
)
async def get_current_consent_text(
    request: Request, settings: SettingsDep, locale: LocaleDep
) -> Response:
    """The current consent wording in the negotiated locale (the default locale's when it has
    none), and the `version` and `locale` to send back in `consent`."""
    return await serve_cached(
        request,
        ("consent", locale),
        lambda session: consent.current_consent(
            session=session,
            locale=locale,
            default_locale=settings.default_locale,
            clinic_name=settings.name,
            base_url=public_base_url(request),
        ),
    )
