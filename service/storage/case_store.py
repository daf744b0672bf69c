"""Cases and their correction events: registering, correcting, reading, the review queue, export."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import threading
import uuid
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from petition_triage.dedup.fingerprints import CONTACT_FIELDS, Fingerprint, char_shingles, without_person_fields
from petition_triage.dedup.index import Match
from petition_triage.privacy import contact_hash, hash_personal_data

from ..api.schemas import Classification, CorrectionRequest, Submission
from ..casework import lifecycle, notifications
from ..casework.time_limits import TimeLimitPolicy
from ..predictor import margin
from .duplicate_store import add_fingerprint_and_links
from .tables import Case, Correction, as_utc, utcnow

LOW_MARGIN = 0.2


def register_case(session: Session, submission: Submission, classification: Classification, salt: str,
                  time_limits: TimeLimitPolicy, fingerprint: Fingerprint | None = None,
                  matches: list[Match] = ()) -> Case:
    """Stores the submission with its predictions, fingerprint and duplicate links in one transaction:
    all of it or nothing."""
    contact = next((str(submission.metadata[k]) for k in CONTACT_FIELDS if submission.metadata.get(k)), None)
    # Phone and ID numbers and names are kept only as salted hashes (in the fingerprint), and so is any
    # number or address that looks like one under another key (备用电话, 邮箱…).
    meta = {k: hash_personal_data(v, salt) if isinstance(v, str) else v
            for k, v in without_person_fields(submission.metadata).items()}
    case = Case(
        id=str(uuid.uuid4()), created_at=utcnow(), channel=submission.channel, title=submission.title,
        text=submission.text, meta=meta, contact_hash=contact_hash(contact, salt) if contact else None,
        model_version=classification.model_version, classification=classification.model_dump(mode="json"),
        predicted_type=classification.type.label if classification.type else None,
        predicted_department=classification.department.label if classification.department else None,
        predicted_risk=classification.risk.level if classification.risk else None,
        department_probability=classification.department.probability if classification.department else None,
        department_margin=_finite(margin(classification)), needs_review=classification.needs_review,
    )
    lifecycle.start(case, time_limits)
    case.region = str(meta.get("region") or "")[:128] or None
    case.region_code = classification.place.code if classification.place else None
    case.office = classification.route.office[:200] if classification.route else None
    code = verification_code()
    case.verification_hash = hash_verification_code(case.id, code)
    session.add(case)
    session.flush()
    if fingerprint is not None:
        add_fingerprint_and_links(session, case, fingerprint, list(matches))
    notifications.emit(session, "case.registered", case)
    session.commit()
    case.verification_code = code  # handed to the petitioner once, never stored
    return case


def verification_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def hash_verification_code(case_id: str, code: str) -> str:
    return hashlib.sha256(f"{case_id}:{code}".encode()).hexdigest()


def check_verification_code(case: Case, code: str) -> bool:
    expected = case.verification_hash or ""
    return hmac.compare_digest(expected, hash_verification_code(case.id, code.strip()))


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def get_case(session: Session, case_id: str) -> Case | None:
    return session.scalar(select(Case).where(Case.id == case_id)
                          .options(selectinload(Case.corrections), selectinload(Case.events)))


T = TypeVar("T")
WRITE_ATTEMPTS = 5
# Writers of one case in this process take turns (a stripe of locks bounds the memory); writers in other
# processes are caught by the row version and decided again.
_CASE_LOCKS = tuple(threading.Lock() for _ in range(64))


class ConcurrentWrites(Exception):
    """Other writers kept changing the case while this one tried (HTTP 409: reload and decide again)."""


def write_case(session: Session, case_id: str, change: Callable[[Case], T]) -> T:
    """Runs `change` (which commits) on the case as stored, as the case's one writer at a time.

    In this process writers of a case take turns; a commit still fails if another process changed the
    case after it was read (`Case.row_version`), and `change` then runs again on the row as stored, so
    that what it decides (whether a transition is allowed, a correction's from-value) is decided on what
    is there, never on a stale copy.
    """
    with _CASE_LOCKS[zlib.crc32(case_id.encode()) % len(_CASE_LOCKS)]:
        for _ in range(WRITE_ATTEMPTS):
            case = session.scalar(select(Case).where(Case.id == case_id).execution_options(populate_existing=True)
                                  .options(selectinload(Case.corrections), selectinload(Case.events)))
            if case is None:
                raise LookupError(f"no case with id {case_id!r}")
            try:
                return change(case)
            except StaleDataError:
                session.rollback()
    raise ConcurrentWrites(f"case {case_id} was changed by others {WRITE_ATTEMPTS} times while this change was "
                           "being saved; reload it and try again")


def get_cases(session: Session, case_ids: set[str]) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.id.in_(case_ids)))) if case_ids else []


def is_overdue(case: Case, now: datetime | None = None) -> bool:
    return case.due_at is not None and as_utc(case.due_at) < (now or utcnow())


def list_cases(session: Session, *, state: str | None = None, due: str | None = None, due_soon_days: int = 3,
               department: str | None = None, channel: str | None = None, limit: int = 50,
               offset: int = 0) -> tuple[list[Case], int]:
    """Cases by state and deadline, soonest deadline first; `due` is "overdue" or "due_soon"."""
    query = select(Case)
    if state:
        query = query.where(Case.state == state)
    if department:
        query = query.where(Case.predicted_department == department)
    if channel:
        query = query.where(Case.channel == channel)
    now = utcnow()
    if due == "overdue":
        query = query.where(Case.due_at < now)
    elif due == "due_soon":
        query = query.where(Case.due_at >= now, Case.due_at < now + timedelta(days=due_soon_days))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Case.due_at.is_(None), Case.due_at, Case.created_at).limit(limit).offset(offset))
    return list(rows), total


def current_labels(case: Case, before: int | None = None) -> dict[str, str | list[str] | None]:
    """Predictions, overridden field by field by the latest correction (made before the correction event
    `before`, where given)."""
    risk = case.classification.get("risk") or {}
    labels: dict[str, str | list[str] | None] = {
        "type": case.predicted_type, "department": case.predicted_department, "risk": case.predicted_risk,
        "risk_reasons": sorted({r["code"] for r in risk.get("reasons", [])}),
        "office": (case.classification.get("route") or {}).get("office"),
    }
    for event in case.corrections:
        if before is not None and event.id >= before:
            break
        if event.field != REVIEW_FIELD:
            labels[event.field] = json.loads(event.to_value) if event.field == "risk_reasons" else event.to_value
    return labels


# A reviewer's "the prediction is right" is an event in the corrections history: the case leaves the
# review queue, and its labels as they stood become training labels like corrected ones.
REVIEW_FIELD = "review"
ACCEPTED = "accepted"
CONFIRMED_HEADS = ("type", "department", "risk")


def reviewed_since(session: Session, since: datetime) -> dict[str, int]:
    """Cases reviewed since `since`: accepted as predicted, and corrected (a case counts once, as corrected
    if it got any correction)."""
    rows = session.execute(select(Correction.case_id, Correction.field).where(Correction.created_at >= since)).all()
    corrected = {case_id for case_id, field in rows if field != REVIEW_FIELD}
    accepted = {case_id for case_id, field in rows if field == REVIEW_FIELD} - corrected
    return {"accepted": len(accepted), "corrected": len(corrected)}


def accept_prediction(session: Session, case: Case, reason: str | None, actor: str) -> Correction:
    """Records that the case's current labels are right (an `accepted` review event)."""
    event = Correction(case_id=case.id, field=REVIEW_FIELD, from_value=None, to_value=ACCEPTED, reason=reason,
                       actor=actor, model_version=case.model_version, created_at=utcnow())
    session.add(event)
    _commit_with_case_row(session, case)
    return event


def _commit_with_case_row(session: Session, case: Case) -> None:
    """Commits events kept in their own table together with a write of the case row, so that the commit
    checks and bumps the case's row version: two reviewers' events are applied one after the other
    (`write_case`)."""
    flag_modified(case, "state")
    session.commit()
    session.refresh(case)


def validate_correction(request: CorrectionRequest, allowed: dict[str, list[str]],
                        offices: set[str] | None = None) -> dict[str, object]:
    """The fields being changed; unknown labels (or offices not in the routing table) raise ValueError."""
    changes: dict[str, object] = {}
    for field in ("type", "department", "risk"):
        value = getattr(request, field)
        if value is None:
            continue
        if value not in allowed.get(field, []):
            raise ValueError(f"unknown {field} {value!r}; allowed: {', '.join(allowed.get(field, []))}")
        changes[field] = value
    if request.risk_reasons is not None:
        unknown = sorted(set(request.risk_reasons) - set(allowed.get("reasons", [])))
        if unknown:
            raise ValueError(f"unknown risk reasons {unknown}; allowed: {', '.join(allowed.get('reasons', []))}")
        changes["risk_reasons"] = sorted(set(request.risk_reasons))
    if request.office is not None:
        if offices is not None and request.office not in offices:
            raise ValueError(f"unknown office {request.office!r}: not in the routing table in force")
        changes["office"] = request.office
    if not changes:
        raise ValueError("a correction must set at least one of type, department, risk, risk_reasons, office")
    return changes


def add_corrections(session: Session, case: Case, changes: dict[str, object], reason: str | None, actor: str,
                    model_version: str | None) -> list[Correction]:
    """One event per changed field, all committed together."""
    before = current_labels(case)
    events = []
    for field, value in changes.items():
        encode = (lambda v: json.dumps(v, ensure_ascii=False)) if field == "risk_reasons" else (lambda v: v)
        events.append(Correction(case_id=case.id, field=field, from_value=encode(before.get(field)),
                                 to_value=encode(value), reason=reason, actor=actor, model_version=model_version,
                                 created_at=utcnow()))
    session.add_all(events)
    moved = {f: changes[f] for f in ("department", "office") if f in changes and changes[f] != before.get(f)}
    if moved:
        notifications.emit(session, "case.reassigned", case, **{f"from_{f}": before.get(f) for f in moved},
                           **{f"to_{f}": v for f, v in moved.items()})
    _commit_with_case_row(session, case)
    return events


def review_queue(session: Session, limit: int, department: str | None = None) -> list[tuple[Case, float, list[str]]]:
    """Uncorrected cases a reviewer should see first, spread so that look-alikes do not fill the page.

    Priority: high risk first, then abstained cases, then low-margin ones, each ordered by how
    unsure the model was. A case whose text is near-identical to one already listed is skipped,
    and no department takes more than a third of the page.
    """
    corrected = exists().where(Correction.case_id == Case.id)
    query = select(Case).where(~corrected, or_(Case.needs_review, Case.predicted_risk == "high",
                                               Case.department_margin < LOW_MARGIN))
    if department:
        query = query.where(Case.predicted_department == department)
    candidates = list(session.scalars(query.order_by(Case.created_at.desc()).limit(max(200, limit * 10))))
    scored = []
    for case in candidates:
        why, priority = [], 1.0 - (case.department_probability or 0.0)
        if case.predicted_risk == "high":
            why.append("high risk")
            priority += 3.0
        if case.needs_review:
            why.append("abstained")
            priority += 2.0
        if case.department_margin is not None and case.department_margin < LOW_MARGIN:
            why.append(f"department margin {case.department_margin:.2f}")
            priority += 1.0
        scored.append((case, round(priority, 4), why))
    scored.sort(key=lambda item: -item[1])
    chosen: list[tuple[Case, float, list[str]]] = []
    seen: list[set[str]] = []
    per_department: dict[str | None, int] = {}
    cap = max(1, math.ceil(limit / 3)) if not department else limit
    for case, priority, why in scored:
        shingles = char_shingles(case.text, 3)
        if any(len(shingles & s) / max(1, len(shingles | s)) > 0.6 for s in seen):
            continue
        if per_department.get(case.predicted_department, 0) >= cap:
            continue
        chosen.append((case, priority, why))
        seen.append(shingles)
        per_department[case.predicted_department] = per_department.get(case.predicted_department, 0) + 1
        if len(chosen) >= limit:
            break
    return chosen


def export_corrections(session: Session, path: Path) -> int:
    """Corrected and accepted cases as training rows (corpus schema): only labels a reviewer corrected or
    accepted (type, department and risk as they stood), latest time per case.

    Uncorrected labels are left out on purpose: training on the model's own guesses would teach it
    nothing, and the trainer masks heads a row does not label.
    """
    cases = session.scalars(select(Case).where(exists().where(Correction.case_id == Case.id))
                            .options(selectinload(Case.corrections)).order_by(Case.created_at))
    rows = []
    for case in cases:
        labels: dict[str, object] = {}
        for event in case.corrections:
            if event.field == REVIEW_FIELD:  # confirmed: the labels as they stood then
                accepted = current_labels(case, before=event.id)
                labels.update({head: accepted[head] for head in CONFIRMED_HEADS})
                continue
            labels[event.field] = json.loads(event.to_value) if event.field == "risk_reasons" else event.to_value
        rows.append({"id": case.id, "channel": case.channel, "title": case.title, "text": case.text,
                     "labels": labels, "corrected_at": max(e.created_at for e in case.corrections).isoformat()})
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return len(rows)
