"""Bearer API keys with scopes: 401 without a valid key, 403 without the scope."""

import re
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import SessionDep
from core.errors import ForbiddenError, UnauthorizedError
from services.access import api_keys
from services.access.api_keys import Principal

# Our tokens are short printable ASCII; anything else is no key, and never reaches a query.
_TOKEN = re.compile(r"[\x21-\x7e]{1,200}")
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="`Authorization: Bearer <key>`; create keys with `python -m cli create-api-key`.",
)


def require_scope(scope: str, *alternatives: str) -> Callable[..., Principal]:
    """A dependency that authenticates the caller and checks that its key holds `scope` (or
    one of the `alternatives`)."""
    accepted = (scope, *alternatives)

    def dependency(
        session: SessionDep,
        # The scope is named in the operation's security requirement (OAS 3.1 allows role
        # names for any scheme), so the contract says which scope each operation needs.
        credentials: Annotated[
            HTTPAuthorizationCredentials | None, Security(_bearer, scopes=list(accepted))
        ],
    ) -> Principal:
        if credentials is None:
            raise UnauthorizedError("An API key is required: `Authorization: Bearer <key>`.")
        token = credentials.credentials
        principal = (
            api_keys.authenticate(session=session, token=token) if _TOKEN.fullmatch(token) else None
        )
        if principal is None:
            raise UnauthorizedError("The API key is not valid.", code="invalid_api_key")
        if principal.scopes.isdisjoint(accepted):
            wanted = " or ".join(f"'{s}'" for s in accepted)
            raise ForbiddenError(
                f"This API key lacks the {wanted} scope.", code="insufficient_scope"
            )
        return principal

    dependency.__name__ = "require_" + "_or_".join(s.replace(":", "_") for s in accepted)
    return dependency


LeadsRead = Annotated[Principal, Depends(require_scope("leads:read"))]
LeadsWrite = Annotated[Principal, Depends(require_scope("leads:write"))]
ContentWrite = Annotated[Principal, Depends(require_scope("content:write"))]
ContentReview = Annotated[Principal, Depends(require_scope("content:review"))]
# Reading the editorial state: writers and reviewers both need it.
ContentEditor = Annotated[Principal, Depends(require_scope("content:write", "content:review"))]
# One callable, so a router that requires it and a route that names the caller share one check
# (FastAPI runs a dependency once per request).
require_webhooks_manage = require_scope("webhooks:manage")
WebhooksManage = Annotated[Principal, Depends(require_webhooks_manage)]
