"""The case lifecycle: states, the transitions allowed between them, and each state's deadline.

    registered 登记 -> accepted 受理 -> in_progress 办理 -> answered 答复 -> closed 办结
    returned 退回 (misrouted: back to dispatch), supervised 督办 (a supervisor follows it up)

Every transition and extension is an event (`case_events`); the case row keeps the current state and
deadline so that overdue queries are one indexed comparison at any number of cases.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ..storage.tables import Case, CaseEvent, utcnow
from . import notifications
from .time_limits import TimeLimitPolicy, add_days

STATE_NAMES = {"registered": "登记", "accepted": "受理", "in_progress": "办理", "answered": "答复", "closed": "办结",
               "returned": "退回", "supervised": "督办"}
TRANSITIONS = {
    "registered": ("accepted", "returned"),
    "accepted": ("in_progress", "supervised", "returned"),
    "in_progress": ("answered", "supervised", "returned"),
    "supervised": ("in_progress", "answered"),
    "answered": ("closed", "in_progress"),  # back to work when the petitioner is not satisfied
    "returned": ("registered",),  # re-dispatched to the right office
    "closed": (),
}


class TransitionRefused(Exception):
    """A transition or extension the lifecycle does not allow now (HTTP 409)."""


def due_at(case: Case, policy: TimeLimitPolicy) -> datetime | None:
    """The deadline of the case's current state, or None when the state has no limit."""
    limit = policy.stages.get(case.state)
    if limit is None:
        return None
    start = case.accepted_at if limit.start == "accepted" and case.accepted_at else case.state_entered_at
    due = add_days(start, limit.days, limit.unit)
    if limit.start == "accepted":
        due += timedelta(days=case.extension_days or 0)
    first = policy.first_response
    if case.state == "registered" and first is not None and case.channel in policy.first_response_channels:
        days = policy.first_response_departments.get(case.predicted_department or "", first.days)
        due = min(due, add_days(case.created_at, days, first.unit))
    return due


def start(case: Case, policy: TimeLimitPolicy) -> None:
    """A new case is registered with its first deadline."""
    case.state, case.state_entered_at = "registered", case.created_at
    case.due_at = due_at(case, policy)


def transition(session: Session, case: Case, to: str, actor: str, note: str | None,
               policy: TimeLimitPolicy) -> CaseEvent:
    allowed = TRANSITIONS.get(case.state, ())
    if to not in allowed:
        raise TransitionRefused(f"a {case.state} ({STATE_NAMES.get(case.state)}) case cannot go to {to!r}; "
                                f"allowed: {', '.join(allowed) or 'none (final state)'}")
    now = utcnow()
    event = CaseEvent(case_id=case.id, kind="transition", from_state=case.state, to_state=to, note=note, actor=actor,
                      created_at=now)
    case.state, case.state_entered_at = to, now
    if to == "accepted" and case.accepted_at is None:
        case.accepted_at = now
    case.due_at = due_at(case, policy)
    case.events.append(event)
    notifications.emit(session, "case.state_changed", case, from_state=event.from_state, to_state=to)
    session.commit()
    return event


def extend(session: Session, case: Case, days: int, actor: str, note: str | None, policy: TimeLimitPolicy) -> CaseEvent:
    if case.state not in policy.extension_stages:
        raise TransitionRefused(f"a {case.state} case cannot be extended; only in: {', '.join(sorted(policy.extension_stages))}")
    if (case.extensions or 0) >= policy.extension_times:
        raise TransitionRefused(f"the handling time limit was already extended {case.extensions} time(s); "
                                f"the policy allows {policy.extension_times}")
    if not 1 <= days <= policy.extension_max_days:
        raise ValueError(f"an extension is 1 to {policy.extension_max_days} days, got {days}")
    event = CaseEvent(case_id=case.id, kind="extension", from_state=case.state, to_state=case.state, days=days,
                      note=note, actor=actor, created_at=utcnow())
    case.extensions = (case.extensions or 0) + 1
    case.extension_days = (case.extension_days or 0) + days
    case.due_at = due_at(case, policy)
    case.events.append(event)
    session.commit()
    return event
