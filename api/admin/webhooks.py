"""Managing webhook endpoints and their deliveries (scope `webhooks:manage`)."""

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from starlette.responses import Response

from api.auth import WebhooksManage, require_webhooks_manage
from api.deps import KeyRingDep, SessionDep, SettingsDep
from api.links import webhook_endpoint_path
from schemas.common import problem_responses
from schemas.vocabulary import DeliveryStatus, EndpointStatus
from schemas.webhooks import (
    WebhookDeliveryList,
    WebhookDeliveryPublic,
    WebhookEndpointCreate,
    WebhookEndpointList,
    WebhookEndpointPublic,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)
from services.webhooks import deliveries as webhook_deliveries
from services.webhooks import endpoints as webhook_endpoints

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin: webhooks"],
    dependencies=[Depends(require_webhooks_manage)],
)
EndpointId = Annotated[uuid.UUID, Path(description="The endpoint's id.")]
ERRORS = (401, 403, 404, 422)


def _public(endpoint: object) -> WebhookEndpointPublic:
    return WebhookEndpointPublic.model_validate(endpoint, from_attributes=True)


def _with_secret(endpoint: object, secret: str) -> WebhookEndpointWithSecret:
    return WebhookEndpointWithSecret(**_public(endpoint).model_dump(), secret=secret)


@router.post(
    "/webhook-endpoints",
    name="create_webhook_endpoint",
    status_code=201,
    summary="Subscribe an endpoint",
    response_model=WebhookEndpointWithSecret,
    responses=problem_responses(401, 403, 415, 422),
)
def create_webhook_endpoint(
    response: Response,
    session: SessionDep,
    ring: KeyRingDep,
    settings: SettingsDep,
    principal: WebhooksManage,
    body: WebhookEndpointCreate,
) -> WebhookEndpointWithSecret:
    """Create an endpoint; the answer carries its signing secret, shown this once.
    `include_health_data` needs a key that also holds `leads:read`. Audited."""
    endpoint, secret = webhook_endpoints.create(
        session=session,
        data=body,
        allow_private=settings.webhook_allow_private_urls,
        ring=ring,
        actor=principal,
    )
    response.headers["Location"] = webhook_endpoint_path(endpoint.id)
    return _with_secret(endpoint, secret)


@router.get(
    "/webhook-endpoints",
    name="list_webhook_endpoints",
    summary="List endpoints",
    response_model=WebhookEndpointList,
    responses=problem_responses(401, 403),
)
def list_webhook_endpoints(session: SessionDep) -> WebhookEndpointList:
    """Every endpoint, without secrets."""
    return WebhookEndpointList(
        data=[_public(e) for e in webhook_endpoints.list_all(session=session)]
    )


@router.get(
    "/webhook-endpoints/{endpoint_id}",
    name="get_webhook_endpoint",
    summary="Get an endpoint",
    response_model=WebhookEndpointPublic,
    responses=problem_responses(*ERRORS),
)
def get_webhook_endpoint(session: SessionDep, endpoint_id: EndpointId) -> WebhookEndpointPublic:
    """One endpoint, without its secret."""
    return _public(webhook_endpoints.get(session=session, endpoint_id=endpoint_id))


@router.patch(
    "/webhook-endpoints/{endpoint_id}",
    name="update_webhook_endpoint",
    summary="Update an endpoint",
    response_model=WebhookEndpointPublic,
    responses=problem_responses(*ERRORS, 415),
)
def update_webhook_endpoint(
    session: SessionDep,
    settings: SettingsDep,
    principal: WebhooksManage,
    endpoint_id: EndpointId,
    body: WebhookEndpointUpdate,
) -> WebhookEndpointPublic:
    """Change URL, description, event types, payload mode or health-data flag. A new `url`,
    or turning `include_health_data` on, needs a key that also holds `leads:read`. Audited."""
    endpoint = webhook_endpoints.update(
        session=session,
        endpoint_id=endpoint_id,
        change=body,
        allow_private=settings.webhook_allow_private_urls,
        actor=principal,
    )
    return _public(endpoint)


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    name="delete_webhook_endpoint",
    summary="Delete an endpoint",
    status_code=204,
    responses=problem_responses(*ERRORS),
)
def delete_webhook_endpoint(
    session: SessionDep, principal: WebhooksManage, endpoint_id: EndpointId
) -> Response:
    """Remove the endpoint and its delivery log. Audited."""
    webhook_endpoints.delete(session=session, endpoint_id=endpoint_id, actor=principal.key_id)
    return Response(status_code=204)


@router.post(
    "/webhook-endpoints/{endpoint_id}/pause",
    name="pause_webhook_endpoint",
    summary="Pause deliveries",
    response_model=WebhookEndpointPublic,
    responses=problem_responses(*ERRORS),
)
def pause_webhook_endpoint(
    session: SessionDep, principal: WebhooksManage, endpoint_id: EndpointId
) -> WebhookEndpointPublic:
    """Deliveries wait (and keep accumulating) until the endpoint is resumed. Audited."""
    return _public(
        webhook_endpoints.set_status(
            session=session,
            endpoint_id=endpoint_id,
            status=EndpointStatus.PAUSED,
            actor=principal.key_id,
        )
    )


@router.post(
    "/webhook-endpoints/{endpoint_id}/resume",
    name="resume_webhook_endpoint",
    summary="Resume deliveries",
    response_model=WebhookEndpointPublic,
    responses=problem_responses(*ERRORS),
)
def resume_webhook_endpoint(
    session: SessionDep, principal: WebhooksManage, endpoint_id: EndpointId
) -> WebhookEndpointPublic:
    """Resume a paused endpoint, or re-enable a disabled one. Audited."""
    return _public(
        webhook_endpoints.set_status(
            session=session,
            endpoint_id=endpoint_id,
            status=EndpointStatus.ACTIVE,
            actor=principal.key_id,
        )
    )


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    name="rotate_webhook_secret",
    summary="Rotate the signing secret",
    response_model=WebhookEndpointWithSecret,
    responses=problem_responses(*ERRORS),
)
def rotate_webhook_secret(
    session: SessionDep,
    ring: KeyRingDep,
    settings: SettingsDep,
    principal: WebhooksManage,
    endpoint_id: EndpointId,
) -> WebhookEndpointWithSecret:
    """A new secret, shown this once; the old one also signs during the grace period. Audited."""
    endpoint, secret = webhook_endpoints.rotate_secret(
        session=session,
        endpoint_id=endpoint_id,
        grace=timedelta(hours=settings.webhook_secret_grace_hours),
        ring=ring,
        actor=principal.key_id,
    )
    return _with_secret(endpoint, secret)


@router.post(
    "/webhook-endpoints/{endpoint_id}/test",
    name="test_webhook_endpoint",
    summary="Send a ping event",
    status_code=202,
    response_model=WebhookDeliveryPublic,
    responses=problem_responses(*ERRORS, 409),
)
def test_webhook_endpoint(
    session: SessionDep, principal: WebhooksManage, endpoint_id: EndpointId
) -> WebhookDeliveryPublic:
    """Queue a signed `ping` event to this endpoint. Audited."""
    return webhook_deliveries.send_ping(
        session=session, endpoint_id=endpoint_id, actor=principal.key_id
    )


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    name="list_webhook_deliveries",
    summary="List an endpoint's deliveries",
    response_model=WebhookDeliveryList,
    responses=problem_responses(*ERRORS),
)
def list_webhook_deliveries(
    session: SessionDep,
    endpoint_id: EndpointId,
    status: Annotated[DeliveryStatus | None, Query()] = None,
) -> WebhookDeliveryList:
    """The newest 200 deliveries, each with every attempt (time, status, latency, error)."""
    return WebhookDeliveryList(
        data=webhook_deliveries.list_for_endpoint(
            session=session, endpoint_id=endpoint_id, status=status
        )
    )


@router.post(
    "/webhook-deliveries/{delivery_id}/redeliver",
    name="redeliver_webhook",
    summary="Redeliver an event",
    status_code=202,
    response_model=WebhookDeliveryPublic,
    responses=problem_responses(*ERRORS),
)
def redeliver_webhook(
    session: SessionDep, principal: WebhooksManage, delivery_id: Annotated[uuid.UUID, Path()]
) -> WebhookDeliveryPublic:
    """Queue the delivery's event to its endpoint again, with the payload it was created
    with (never health data it did not carry then). Audited."""
    return webhook_deliveries.redeliver(
        session=session, delivery_id=delivery_id, actor=principal.key_id
    )
