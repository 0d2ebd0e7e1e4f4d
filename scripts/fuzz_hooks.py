"""Schemathesis hooks for `make fuzz`: domain data a schema cannot state.

A schema-valid consultation request can still be refused for facts that live in the database:
a phone number that is not a real one, a therapy, condition, article or disclaimer version that
does not exist, a consent version that is not the current text's, an email address on a
special-use domain (`.test`, `.local`…) that `format: email` allows. For requests generated as
*valid* (positive mode) these values are replaced with real ones read from the server under test
(`FUZZ_KNOWN`, written by scripts/fuzz_contract.py), and an `Idempotency-Key` is made unique
to its body, so that every check, positive data
acceptance included, applies to everything else. Invalid (negative) requests are sent as
generated."""

import copy
import hashlib
import json
import os
import uuid
from typing import Any

import schemathesis
from email_validator import EmailNotValidError, validate_email

KNOWN: dict[str, Any] = json.loads(os.environ.get("FUZZ_KNOWN", "{}"))
PHONES = ["+1 415 555 0100", "(415) 555-0132", "+44 20 7946 0958", "+14155550199"]


def _pick(options: list[Any], index: int) -> Any:
    return options[index % len(options)]


def _deliverable(email: Any) -> bool:
    """What the intake accepts: email-validator's syntax and no special-use domain."""
    try:
        validate_email(str(email), check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _real_lead(body: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    if "email" in body and not _deliverable(body["email"]):
        body["email"] = "ana@example.com"
    body["phone"] = _pick(PHONES, len(str(body.get("phone", ""))))
    body["therapies"] = [
        _pick(KNOWN["therapies"], i) for i, _ in enumerate(body.get("therapies", []))
    ]
    body["conditions"] = [
        _pick(KNOWN["conditions"], i) for i, _ in enumerate(body.get("conditions", []))
    ]
    consent = body.get("consent")
    if isinstance(consent, dict):
        consent["consent_version"] = KNOWN["consent_version"]
    source = body.get("source")
    if isinstance(source, dict):
        if source.get("article_slug") is not None:
            slug, locale = _pick(KNOWN["articles"], len(source["article_slug"]))
            source["article_slug"], source["locale"] = slug, locale
        elif source.get("locale") is not None:
            source["locale"] = _pick(KNOWN["articles"], 0)[1]
        shown = source.get("disclaimers_shown") or []
        source["disclaimers_shown"] = [
            dict(zip(("key", "version"), _pick(KNOWN["disclaimers"], i), strict=True))
            for i, _ in enumerate(shown)
        ]
    return body


# Operations that take an article off the public site: run on the demo articles the stateful
# phase finds, they would leave the lead form without the published articles its valid requests
# name. They act on a draft of the fuzzer's own instead (any well-formed id is replaced).
TAKE_DOWN = ("/v1/admin/articles/{article_id}/archive", "/v1/admin/articles/{article_id}/unpublish")


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    """Real domain values in a valid consultation request; take-downs on a scratch article."""
    if KNOWN and case.operation.path in TAKE_DOWN and case.path_parameters:
        try:
            uuid.UUID(str(case.path_parameters.get("article_id")))
        except ValueError:
            return  # a malformed id stays: its 422 is what is tested
        case.path_parameters["article_id"] = KNOWN["scratch_article"]
        return
    meta = case.meta
    if (
        not KNOWN
        or case.operation.path != "/v1/consultation-requests"
        or case.method.upper() != "POST"
        or meta is None
        or not meta.generation.mode.is_positive
        or not isinstance(case.body, dict)
    ):
        return
    case.body = _real_lead(case.body)
    # A key names one request: reused with another body it is a 422 by design (IETF
    # Idempotency-Key), so a valid request gets a key of its own body.
    if case.headers and "Idempotency-Key" in case.headers:
        digest = hashlib.sha256(json.dumps(case.body, sort_keys=True).encode()).hexdigest()
        case.headers["Idempotency-Key"] = f"fuzz-{digest[:40]}"
