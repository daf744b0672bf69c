import secrets

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...casework import webhook_targets
from ...casework.notifications import EVENT_TYPES
from ...storage.tables import Delivery, Notification, WebhookSubscription
from ..deps import AdminKey, ReviewerKey, SessionDep, SettingsDep
from ..schemas import (MAX_ROW_ID, DeliveryView, NotificationList, NotificationView, WebhookCreate, WebhookList,
                       WebhookView, error_responses)

router = APIRouter(prefix="/v1", tags=["notifications"], responses=error_responses(401, 403, 404, 422))


@router.post("/webhooks", response_model=WebhookView, status_code=status.HTTP_201_CREATED)
def create_webhook(body: WebhookCreate, session: SessionDep, _: AdminKey, settings: SettingsDep) -> WebhookView:
    """Subscribes a URL to notification events. Each delivery is a JSON POST signed with
    `X-Petition-Signature: sha256=<HMAC-SHA256 of the body>`, retried with back-off until it gets a 2xx."""
    unknown = sorted(set(body.event_types) - set(EVENT_TYPES))
    if unknown:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                            detail=f"unknown event types {unknown}; known: {', '.join(EVENT_TYPES)}")
    refused = None if settings.webhook_private_targets else webhook_targets.refusal(body.url)
    if refused:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=f"webhook url refused: {refused}")
    secret = body.secret or secrets.token_urlsafe(32)
    row = WebhookSubscription(url=body.url, secret=secret, event_types=body.event_types, active=True)
    session.add(row)
    session.commit()
    return WebhookView(id=row.id, url=row.url, event_types=row.event_types, active=True, created_at=row.created_at,
                       secret=secret)


@router.get("/webhooks", response_model=WebhookList)
def list_webhooks(session: SessionDep, _: AdminKey) -> WebhookList:
    rows = session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id))
    return WebhookList(items=[WebhookView(id=r.id, url=r.url, event_types=r.event_types, active=r.active,
                                          created_at=r.created_at) for r in rows])


@router.delete("/webhooks/{webhook_id}", response_model=WebhookView)
def deactivate_webhook(session: SessionDep, _: AdminKey, webhook_id: int = Path(ge=1, le=MAX_ROW_ID)) -> WebhookView:
    """Stops deliveries to a subscriber; what it was sent stays on record."""
    row = session.get(WebhookSubscription, webhook_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no webhook with id {webhook_id}")
    row.active = False
    session.commit()
    return WebhookView(id=row.id, url=row.url, event_types=row.event_types, active=False, created_at=row.created_at)


@router.get("/notifications", response_model=NotificationList)
def list_notifications(session: SessionDep, _: ReviewerKey, case_id: str | None = None,
                       limit: int = Query(50, ge=1, le=500)) -> NotificationList:
    """Recent notification events with the state of each delivery."""
    query = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if case_id:
        query = query.where(Notification.case_id == case_id)
    notifications = list(session.scalars(query))
    deliveries: dict[int, list[Delivery]] = {}
    for d in session.scalars(select(Delivery).where(Delivery.notification_id.in_([n.id for n in notifications]))
                             .options(selectinload(Delivery.subscription))):
        deliveries.setdefault(d.notification_id, []).append(d)
    return NotificationList(items=[NotificationView(
        id=n.id, event_type=n.event_type, case_id=n.case_id, payload=n.payload, created_at=n.created_at,
        deliveries=[DeliveryView.model_validate(d, from_attributes=True) for d in deliveries.get(n.id, [])])
        for n in notifications])
