"""Reminders: an outbox of notification events, delivered to webhooks (HMAC-signed, retried with
back-off) and to staff by SMS through a pluggable sender.

`emit` adds the event and one delivery per subscriber to the caller's session, so the event commits
with the change it reports or not at all. The dispatcher claims due deliveries with a lease (and
`SKIP LOCKED` on PostgreSQL), so several processes never send the same one at once; a delivery is
marked delivered only after the receiver answered 2xx, so a crash means a resend, never a loss.
Receivers de-duplicate on the `X-Petition-Notification` id.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import importlib
import json
import logging
from datetime import timedelta
from typing import Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from petition_triage.privacy import mask_personal_data

from ..storage.tables import Case, Delivery, Notification, WebhookSubscription, as_utc, utcnow
from . import webhook_targets

logger = logging.getLogger(__name__)

EVENT_TYPES = ("case.registered", "case.state_changed", "case.reassigned", "case.due_soon", "case.overdue")
SMS_EVENTS = ("case.due_soon", "case.overdue")
MAX_ATTEMPTS = 12
LEASE = timedelta(seconds=60)
SIGNATURE_HEADER = "X-Petition-Signature"


class SmsSender(Protocol):
    """What a real SMS gateway adapter implements: send one text to one number, raise on failure."""

    def send(self, number: str, text: str) -> None: ...


class LoggingSmsSender:
    """The default: writes the message to the log (numbers masked) instead of sending it."""

    def send(self, number: str, text: str) -> None:
        logger.info("SMS to %s: %s", mask_personal_data(number), text)


def load_sms_sender(path: str | None) -> SmsSender:
    """`module:Class` of a sender with a no-argument constructor, or the logging sender."""
    if not path:
        return LoggingSmsSender()
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def case_payload(case: Case) -> dict:
    """What a notification says of a case: never its text or contacts, only where it stands."""
    return {"case_id": case.id, "channel": case.channel, "department": case.predicted_department,
            "risk": case.predicted_risk, "state": case.state,
            "due_at": as_utc(case.due_at).isoformat() if case.due_at else None}


def emit(session: Session, event_type: str, case: Case, sms_recipients: dict[str, list[str]] | None = None,
         dedupe_key: str | None = None, **details) -> Notification:
    """Adds a notification and its deliveries to the session; the caller's commit makes them real."""
    notification = Notification(event_type=event_type, case_id=case.id, dedupe_key=dedupe_key, created_at=utcnow(),
                                payload={"event": event_type, **case_payload(case), **details})
    session.add(notification)
    for subscription in session.scalars(select(WebhookSubscription).where(WebhookSubscription.active)):
        if not subscription.event_types or event_type in subscription.event_types:
            session.add(Delivery(notification=notification, channel="webhook", subscription_id=subscription.id,
                                 next_attempt_at=utcnow()))
    if event_type in SMS_EVENTS:
        for number in (sms_recipients or {}).get(case.predicted_department or "", []):
            session.add(Delivery(notification=notification, channel="sms", recipient=number, next_attempt_at=utcnow()))
    return notification


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s, ... capped at one hour."""
    return timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))


def scan_deadlines(session: Session, due_soon: timedelta, sms_recipients: dict[str, list[str]] | None = None) -> int:
    """Raises `case.due_soon` and `case.overdue` once per deadline; returns how many were raised.

    Reads only ids and deadlines of the cases in the window, and which of their keys were reported, a few
    hundred at a time; whole cases are loaded only for events not raised yet.
    """
    now = utcnow()
    due = session.execute(select(Case.id, Case.due_at).where(Case.due_at.is_not(None),
                                                            Case.due_at < now + due_soon)).all()
    keys = {}
    for case_id, due_at in due:
        kind = "case.overdue" if as_utc(due_at) < now else "case.due_soon"
        keys[case_id] = (kind, f"{case_id}:{kind}:{as_utc(due_at).isoformat()}")
    raised = 0
    pending = list(keys.items())
    for start in range(0, len(pending), 500):
        chunk = dict(pending[start:start + 500])
        reported = set(session.scalars(select(Notification.dedupe_key)
                                       .where(Notification.dedupe_key.in_([key for _, key in chunk.values()]))))
        new = [case_id for case_id, (_, key) in chunk.items() if key not in reported]
        for case in session.scalars(select(Case).where(Case.id.in_(new))) if new else []:
            kind, key = chunk[case.id]
            try:
                with session.begin_nested():
                    emit(session, kind, case, sms_recipients, dedupe_key=key)
                raised += 1
            except IntegrityError:  # another process raised it first
                continue
    session.commit()
    return raised


class Dispatcher:
    def __init__(self, database, sms_sender: SmsSender | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 timeout: float = 10.0, private_targets: bool = False) -> None:
        self.database = database
        self.private_targets = private_targets
        self.sms_sender = sms_sender or LoggingSmsSender()
        self.transport = transport
        self.timeout = timeout

    def _claim(self, limit: int) -> list[Delivery]:
        """Takes due deliveries for this process by pushing their next attempt a lease ahead."""
        with self.database.sessions() as session:
            query = (select(Delivery).where(Delivery.status == "pending", Delivery.next_attempt_at <= utcnow())
                     .order_by(Delivery.next_attempt_at).limit(limit)
                     .options(selectinload(Delivery.notification), selectinload(Delivery.subscription))
                     .with_for_update(skip_locked=True, of=Delivery))
            claimed = list(session.scalars(query))
            for delivery in claimed:
                delivery.next_attempt_at = utcnow() + LEASE
            session.commit()
            return claimed

    async def run_once(self, limit: int = 50) -> dict[str, int]:
        """One pass: sends what is due; returns counts of delivered and retried deliveries."""
        counts = {"delivered": 0, "retry": 0, "failed": 0}
        claimed = self._claim(limit)
        if not claimed:
            return counts
        async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as client:
            outcomes = [await self._send(client, d) for d in claimed]
        with self.database.sessions() as session:
            for delivery, error in zip(claimed, outcomes):
                row = session.get(Delivery, delivery.id)
                row.attempts += 1
                if error is None:
                    row.status, row.delivered_at, row.last_error = "delivered", utcnow(), None
                    counts["delivered"] += 1
                elif row.attempts >= MAX_ATTEMPTS:
                    row.status, row.last_error = "failed", error
                    counts["failed"] += 1
                else:
                    row.next_attempt_at, row.last_error = utcnow() + backoff(row.attempts), error
                    counts["retry"] += 1
            session.commit()
        return counts

    async def _send(self, client: httpx.AsyncClient, delivery: Delivery) -> str | None:
        payload = delivery.notification.payload
        try:
            if delivery.channel == "sms":
                text = f"【信访提醒】{payload['event']} 案件 {payload['case_id'][:8]} 期限 {payload.get('due_at')}"
                await asyncio.to_thread(self.sms_sender.send, delivery.recipient, text)
                return None
            subscription = delivery.subscription
            if subscription is None or not subscription.active:
                return "subscription removed"
            if not self.private_targets:
                refused = await asyncio.to_thread(webhook_targets.refusal, subscription.url)
                if refused:
                    return f"refused: {refused}"
            body = json.dumps({"id": delivery.notification_id, **payload}, ensure_ascii=False).encode("utf-8")
            response = await client.post(subscription.url, content=body, headers={
                "Content-Type": "application/json", SIGNATURE_HEADER: sign(subscription.secret, body),
                "X-Petition-Notification": str(delivery.notification_id)})
            return None if response.is_success else f"HTTP {response.status_code}"
        except Exception as exc:  # a receiver or gateway that is down: retried later
            return f"{type(exc).__name__}: {exc}"[:500]

    async def run_forever(self, interval: float, due_soon: timedelta, sms_recipients: dict[str, list[str]]) -> None:
        while True:
            try:
                with self.database.sessions() as session:
                    scan_deadlines(session, due_soon, sms_recipients)
                await self.run_once()
            except Exception:
                logger.exception("notification dispatch failed; trying again in %.0f s", interval)
            await asyncio.sleep(interval)
