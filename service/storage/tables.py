"""Database tables. Corrections and model activations are events: rows are added, never changed."""

from __future__ import annotations

import sys
from datetime import datetime, timezone

import numpy as np
from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from petition_triage.dedup.fingerprints import Fingerprint, intern_terms


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """In UTC, as everything is stored: naive values (SQLite hands them back so) are taken as UTC."""
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    pass


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    # Submission metadata as given; phone and ID numbers are never stored in clear here.
    meta: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    contact_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    model_version: Mapped[str] = mapped_column(String(64))
    classification: Mapped[dict] = mapped_column(JSON)
    predicted_type: Mapped[str | None] = mapped_column(String(64))
    predicted_department: Mapped[str | None] = mapped_column(String(64), index=True)
    predicted_risk: Mapped[str | None] = mapped_column(String(32), index=True)
    department_probability: Mapped[float | None] = mapped_column(Float)
    department_margin: Mapped[float | None] = mapped_column(Float)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # The duplicate group (一件多投) the case belongs to now: the id of the group's first case. Links and
    # their reviews are the history; this column is their current outcome.
    duplicate_group: Mapped[str | None] = mapped_column(String(36), index=True)
    # Lifecycle: the current state and its deadline; the events in `case_events` are the history.
    state: Mapped[str] = mapped_column(String(16), default="registered", server_default="registered", index=True)
    state_entered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    extensions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extension_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A petitioner checks status with the case id and a code given once at registration (hash kept).
    verification_hash: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(128), index=True)  # as the channel reports it
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)  # division code of the place
    office: Mapped[str | None] = mapped_column(String(200), index=True)  # where the case was routed
    # Bumped by every write to the case (transitions, extensions, corrections): a writer whose copy is
    # older than the row's fails (StaleDataError) instead of overwriting what another wrote meanwhile.
    row_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}

    corrections: Mapped[list["Correction"]] = relationship(back_populates="case", order_by="Correction.id")
    events: Mapped[list["CaseEvent"]] = relationship(order_by="CaseEvent.id")


class Correction(Base):
    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    from_value: Mapped[str | None] = mapped_column(Text)
    to_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    case: Mapped[Case] = relationship(back_populates="corrections")


class CaseEvent(Base):
    """A lifecycle transition or a time-limit extension."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # transition | extension
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    days: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A signed-in page session, kept on the server so that signing out ends it for good."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie's token
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ModelActivation(Base):
    __tablename__ = "model_activations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CaseFingerprint(Base):
    """What duplicate search compares of a case; `seq` orders rows for processes following the table."""

    __tablename__ = "case_fingerprints"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), unique=True, index=True)
    text_hash: Mapped[str] = mapped_column(String(64), index=True)
    terms: Mapped[list] = mapped_column(JSON)
    minhash: Mapped[bytes] = mapped_column(LargeBinary)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # float16, unit length
    embedding_model: Mapped[str] = mapped_column(String(64))
    contacts: Mapped[list] = mapped_column(JSON)  # salted hashes only
    names: Mapped[list] = mapped_column(JSON)  # salted hashes only
    labels: Mapped[dict] = mapped_column(JSON)  # the model's top labels with probabilities
    cues: Mapped[list] = mapped_column(JSON)

    @classmethod
    def from_fingerprint(cls, case_id: str, fp: Fingerprint) -> "CaseFingerprint":
        return cls(case_id=case_id, text_hash=fp.text_hash, terms=list(fp.terms),
                   minhash=fp.minhash.astype("<u4").tobytes(), embedding=fp.embedding.astype("<f2").tobytes(),
                   embedding_model=fp.embedding_model, contacts=sorted(fp.contacts), names=sorted(fp.names),
                   labels=fp.labels, cues=sorted(fp.cues))

    def to_fingerprint(self, created_at: datetime | None = None, region_code: str | None = None) -> Fingerprint:
        """The stored fingerprint; when and where come from its case (`Case.created_at`, `Case.region_code`)."""
        return Fingerprint(text_hash=self.text_hash, terms=intern_terms(self.terms),
                           minhash=np.frombuffer(self.minhash, dtype="<u4").astype(np.uint32),
                           embedding=np.frombuffer(self.embedding, dtype="<f2").astype(np.float32),
                           contacts=frozenset(self.contacts), names=frozenset(self.names),
                           labels=self.labels, cues=frozenset(self.cues),
                           submitted_at=as_utc(created_at).timestamp() if created_at else None,
                           place_code=sys.intern(region_code) if region_code else None,
                           embedding_model=sys.intern(self.embedding_model))


class DuplicateLink(Base):
    """A found link from a new case to an earlier one. Never changed; reviews are events beside it."""

    __tablename__ = "duplicate_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    other_case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # duplicate | related
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    reviews: Mapped[list["LinkReview"]] = relationship(back_populates="link", order_by="LinkReview.id")

    @property
    def status(self) -> str:
        """suggested, confirmed or split: the latest review decides."""
        return self.reviews[-1].action if self.reviews else "suggested"


class LinkReview(Base):
    __tablename__ = "link_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("duplicate_links.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # confirmed | split
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    link: Mapped[DuplicateLink] = relationship(back_populates="reviews")


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text)
    # The HMAC key the receiver checks signatures with; it must be kept to sign, so it is stored as given.
    secret: Mapped[str] = mapped_column(String(128))
    event_types: Mapped[list] = mapped_column(JSON)  # empty: every event
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Notification(Base):
    """The outbox: written in the same transaction as the change it reports, so a crash loses none."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_type: Mapped[str] = mapped_column(String(32), index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    # Events raised by the deadline scan carry a key, so each deadline is reported once.
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class Delivery(Base):
    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # webhook | sms
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    recipient: Mapped[str | None] = mapped_column(String(64))  # SMS: a staff duty number
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    notification: Mapped[Notification] = relationship()
    subscription: Mapped[WebhookSubscription | None] = relationship()


class RoutingTableVersion(Base):
    """Every routing table an admin put in place; the newest is in force."""

    __tablename__ = "routing_tables"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
