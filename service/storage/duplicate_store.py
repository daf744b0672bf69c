"""Duplicate links, groups and hot issues in the database.

A link is written once, when search finds it; reviewers confirm or split it with events. A case's
`duplicate_group` is the current outcome: the connected component of its duplicate links that no
reviewer split, named after the component's earliest case.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload

from petition_triage.dedup.components import MIN_SUBMITTERS, issue_clusters
from petition_triage.dedup.fingerprints import (Fingerprint, fingerprint, model_labels, top_labels, unit_vector,
                                                without_person_fields)
from petition_triage.dedup.index import DuplicateIndex, Match
from petition_triage.dedup.scorer import ISSUE_LINK, DuplicateScorer
from petition_triage.model.inference import EMBEDDING_OUTPUT, OnnxTriageModel

from ..api.schemas import Classification, DuplicateEvidence, DuplicateLinkView, DuplicateMatch, HotIssueView, Submission
from .tables import Case, CaseFingerprint, DuplicateLink, LinkReview, as_utc, utcnow

REVIEW_ACTIONS = ("confirmed", "split")
# Rows are read back from this far below the highest sequence number seen, because PostgreSQL hands
# out sequence numbers at insert and another process may commit a lower one after a higher one.
SYNC_LOOKBACK = 1000


def _with_case(query: Select) -> Select:
    """Fingerprint rows with their case's arrival time and place, which pair scoring compares."""
    return query.add_columns(Case.created_at, Case.region_code).join(Case, Case.id == CaseFingerprint.case_id)


def sync_index(index: DuplicateIndex, session: Session) -> int:
    """Adds the fingerprints committed by any process since the index's last look; returns how many
    cases were new to it.

    The look-back reads only sequence numbers and ids; whole rows are fetched for unseen cases alone,
    so a search costs the same at the 10th case as at the 100,000th.
    """
    before = len(index)
    if not before:  # start-up: everything, in order
        for row, created_at, region_code in session.execute(_with_case(select(CaseFingerprint))
                                                            .order_by(CaseFingerprint.seq)):
            index.add(row.case_id, row.to_fingerprint(created_at, region_code), row.seq)
        return len(index)
    recent = session.execute(select(CaseFingerprint.seq, CaseFingerprint.case_id)
                             .where(CaseFingerprint.seq > index.max_seq - SYNC_LOOKBACK)).all()
    missing = index.unseen(recent)
    for start in range(0, len(missing), 500):
        rows = session.execute(_with_case(select(CaseFingerprint))
                               .where(CaseFingerprint.case_id.in_(missing[start:start + 500]))
                               .order_by(CaseFingerprint.seq))
        for row, created_at, region_code in rows:
            index.add(row.case_id, row.to_fingerprint(created_at, region_code), row.seq)
    return len(index) - before


def submission_fingerprint(submission: Submission, classification: Classification, embedding: np.ndarray,
                           salt: str, received_at: datetime | None = None) -> Fingerprint:
    """The fingerprint of a submission arriving now (or at `received_at`), as its case will store it."""
    labels = {}
    if classification.type is not None:
        labels["type"] = top_labels(classification.type.probabilities)
    if classification.department is not None:
        labels["department"] = {s.label: s.probability for s in classification.department.top_k}
    place = classification.place.code if classification.place else None
    return fingerprint(submission.text, submission.title, embedding, submission.metadata, salt, labels,
                       submitted_at=received_at or utcnow(), place_code=place,
                       embedding_model=classification.model_version)


def stale_fingerprints(session: Session, model_version: str) -> list[str]:
    """Cases whose fingerprint embedding another model made, oldest first."""
    return list(session.scalars(select(CaseFingerprint.case_id).where(CaseFingerprint.embedding_model != model_version)
                                .order_by(CaseFingerprint.seq)))


def reembed(session: Session, model: OnnxTriageModel, case_ids: list[str]) -> int:
    """Gives these cases' fingerprints `model`'s embedding and labels, in one transaction.

    Written as new rows (new sequence numbers), so that every service process's index replaces its
    copy at its next sync; words, contact hashes and links stay as they were.
    """
    rows = session.execute(select(CaseFingerprint, Case.title, Case.text).join(Case, Case.id == CaseFingerprint.case_id)
                           .where(CaseFingerprint.case_id.in_(case_ids))).all()
    if not rows:
        return 0
    outputs = model.logits([text for _, _, text in rows], [title for _, title, _ in rows])
    decided = model.decide(outputs)
    renewed = []
    for i, (stored, _, _) in enumerate(rows):
        fp = dataclasses.replace(stored.to_fingerprint(), embedding=unit_vector(outputs[EMBEDDING_OUTPUT][i]),
                                 labels=model_labels(model.labels, decided, i), embedding_model=model.version)
        renewed.append(CaseFingerprint.from_fingerprint(stored.case_id, fp))
        session.delete(stored)
    session.flush()
    session.add_all(renewed)
    session.commit()
    return len(renewed)


def find_duplicates(session: Session, index: DuplicateIndex, scorer: DuplicateScorer, fp: Fingerprint,
                    limit: int = 10, issue_links: bool = False) -> list[Match]:
    """Catches up with cases other processes stored, then searches (`DuplicateIndex.search`)."""
    sync_index(index, session)
    return index.search(fp, scorer, limit, issue_links=issue_links)


def shown(matches: list[Match], contact_evidence: bool = True) -> list[DuplicateMatch]:
    """The matches a caller is told of: duplicates and related cases, not hot-issue links. Without
    `contact_evidence` (intake keys) whether contacts agree is left out: an intake system could otherwise
    type any phone number and learn whether that number has filed a case."""
    return [as_schema(m, contact_evidence) for m in matches if m.kind != ISSUE_LINK]


def as_schema(match: Match, contact_evidence: bool = True) -> DuplicateMatch:
    evidence = evidence_json(match)
    if not contact_evidence:  # a candidate the contact stage proposed would say as much
        evidence.update(same_contact=None, same_name=None, stages=[s for s in evidence["stages"] if s != "contact"])
    return DuplicateMatch(case_id=match.case_id, kind=match.kind, score=match.score,
                          evidence=DuplicateEvidence(**evidence))


def without_contacts(submission: Submission) -> Submission:
    """The submission with its phone, ID and name fields removed: what a search may compare when its
    caller may not learn whether a contact matches."""
    return submission.model_copy(update={"metadata": without_person_fields(submission.metadata)})


def link_view(link: DuplicateLink) -> DuplicateLinkView:
    return DuplicateLinkView(id=link.id, case_id=link.case_id, other_case_id=link.other_case_id, kind=link.kind,
                             score=link.score, evidence=DuplicateEvidence(**link.evidence), status=link.status,
                             created_at=link.created_at)


def evidence_json(match: Match) -> dict:
    ev = match.evidence
    return {"stages": match.stages, "semantic_similarity": round(ev.semantic_similarity, 4),
            "text_similarity": round(ev.text_similarity, 4), "shared_terms": ev.shared_terms,
            "same_contact": ev.same_contact, "same_name": ev.same_name, "containment": round(ev.containment, 4),
            "same_place": ev.same_place, "days_apart": round(ev.days_apart, 1) if ev.days_apart is not None else None}


def add_fingerprint_and_links(session: Session, case: Case, fp: Fingerprint,
                              matches: list[Match]) -> list[DuplicateLink]:
    """Adds (without committing) the case's fingerprint, its links, and joins it to its duplicates' group."""
    session.add(CaseFingerprint.from_fingerprint(case.id, fp))
    links = [DuplicateLink(case_id=case.id, other_case_id=m.case_id, kind=m.kind, score=m.score,
                           evidence=evidence_json(m), created_at=utcnow()) for m in matches]
    session.add_all(links)
    duplicates = [m.case_id for m in matches if m.kind == "duplicate"]
    if duplicates:
        others = session.scalars(select(Case).where(Case.id.in_(duplicates))).all()
        groups = {o.duplicate_group or o.id for o in others}
        members = session.scalars(select(Case).where(or_(Case.id.in_(duplicates), Case.duplicate_group.in_(groups)))).all()
        # Groups bridged by the new case merge under the earliest case of them all, as `regroup` names a group.
        group = min(members, key=lambda c: as_utc(c.created_at)).id
        case.duplicate_group = group
        for member in members:
            member.duplicate_group = group
    return links


def links_of(session: Session, case_id: str) -> list[DuplicateLink]:
    """A case's duplicate and related links (hot-issue links are not for people to review)."""
    return list(session.scalars(
        select(DuplicateLink).where(or_(DuplicateLink.case_id == case_id, DuplicateLink.other_case_id == case_id),
                                    DuplicateLink.kind != ISSUE_LINK)
        .options(selectinload(DuplicateLink.reviews)).order_by(DuplicateLink.id)))


def get_link(session: Session, link_id: int) -> DuplicateLink | None:
    return session.scalar(select(DuplicateLink).where(DuplicateLink.id == link_id, DuplicateLink.kind != ISSUE_LINK)
                          .options(selectinload(DuplicateLink.reviews)))


def review_link(session: Session, link: DuplicateLink, action: str, reason: str | None, actor: str) -> LinkReview:
    """Records a reviewer's confirm or split and regroups the two cases; one transaction."""
    if action not in REVIEW_ACTIONS:
        raise ValueError(f"unknown action {action!r}; allowed: {', '.join(REVIEW_ACTIONS)}")
    review = LinkReview(link_id=link.id, action=action, reason=reason, actor=actor, created_at=utcnow())
    session.add(review)
    session.flush()
    session.refresh(link)
    if link.kind == "duplicate":
        regroup(session, {link.case_id, link.other_case_id})
    session.commit()
    return review


def regroup(session: Session, case_ids: set[str]) -> None:
    """Recomputes the duplicate groups around these cases from their links that stand (not split)."""
    seen: set[str] = set()
    for start in case_ids:
        if start in seen:
            continue
        component, frontier = {start}, [start]
        while frontier:
            current = frontier.pop()
            for link in links_of(session, current):
                if link.kind != "duplicate" or link.status == "split":
                    continue
                other = link.other_case_id if link.case_id == current else link.case_id
                if other not in component:
                    component.add(other)
                    frontier.append(other)
        seen |= component
        cases = session.scalars(select(Case).where(Case.id.in_(component))).all()
        group = min(cases, key=lambda c: as_utc(c.created_at)).id if len(cases) > 1 else None
        for case in cases:
            case.duplicate_group = group


@dataclass
class HotIssue:
    cases: list[Case]
    submitters: int
    first_half: int
    second_half: int


def hot_issues(session: Session, since: datetime, until: datetime, min_submitters: int = MIN_SUBMITTERS,
               limit: int = 20) -> list[HotIssue]:
    """Clusters of cases in the window about one public issue, with many submitters.

    One person's cases (a duplicate group: three channels) are one submitter. Submitters are joined by
    their `related` and hot-issue links (not split) into clusters that hang together (`dense_clusters`: most members
    linked to most others), so that a chain of single links cannot pull unrelated letters into one issue.
    """
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.created_at >= since, Case.created_at <= until))}
    if not cases:
        return []
    unit = {case_id: case.duplicate_group or case_id for case_id, case in cases.items()}
    links = session.scalars(select(DuplicateLink).where(DuplicateLink.created_at >= since)
                            .options(selectinload(DuplicateLink.reviews)))
    unit_links = [(unit[link.case_id], unit[link.other_case_id], link.score) for link in links
                  if link.case_id in cases and link.other_case_id in cases and link.status != "split"
                  and link.kind in ("related", ISSUE_LINK)]
    middle = since + (until - since) / 2
    issues = []
    for case_ids in issue_clusters(unit, unit_links):
        members = [cases[case_id] for case_id in case_ids]
        submitters = len({unit[c.id] for c in members})
        if submitters < min_submitters:
            continue
        first = sum(1 for c in members if as_utc(c.created_at) < middle)
        issues.append(HotIssue(sorted(members, key=lambda c: c.created_at), submitters, first, len(members) - first))
    issues.sort(key=lambda h: (-h.submitters, -len(h.cases)))
    return issues[:limit]


def representative(cases: list[Case]) -> tuple[str, str | None]:
    """A title for a cluster (the most common title, else the first case's opening) and its department."""
    titles = Counter(c.title for c in cases if c.title)
    title = titles.most_common(1)[0][0] if titles else cases[0].text[:40]
    departments = Counter(c.predicted_department for c in cases if c.predicted_department)
    return title, departments.most_common(1)[0][0] if departments else None


def hot_issue_view(issue: HotIssue) -> HotIssueView:
    title, department = representative(issue.cases)
    # Rising or falling only on a clear change, so a cluster of 3 does not flip on one case.
    if issue.second_half >= 1.5 * max(issue.first_half, 1):
        trend = "rising"
    elif issue.first_half >= 1.5 * max(issue.second_half, 1):
        trend = "falling"
    else:
        trend = "steady"
    return HotIssueView(title=title, department=department, cases=len(issue.cases), submitters=issue.submitters,
                        trend=trend, first_half=issue.first_half, second_half=issue.second_half,
                        case_ids=[c.id for c in issue.cases], first_seen=issue.cases[0].created_at,
                        last_seen=issue.cases[-1].created_at)
