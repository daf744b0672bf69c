"""Registering submissions: classify, look for duplicates, store. Shared by every route that registers."""

from __future__ import annotations

from sqlalchemy.orm import Session

from petition_triage.dedup.index import DuplicateIndex

from ..api.schemas import CaseCreated, Submission
from ..api.triage import Triage
from ..storage import case_store, duplicate_store
from .time_limits import TimeLimitPolicy


async def register_submissions(submissions: list[Submission], triage: Triage, index: DuplicateIndex,
                               session: Session, salt: str, time_limits: TimeLimitPolicy,
                               contact_evidence: bool) -> list[CaseCreated]:
    """One model run for all of them; each case is stored in its own transaction, in order, so a later
    submission of the same payload finds an earlier one as its duplicate. Without `contact_evidence`
    (intake keys) the matches say nothing of contacts (`duplicate_store.shown`)."""
    classifications, embeddings = await triage.classify_and_embed(submissions)
    predictor = triage.predictor
    created = []
    for submission, classification, embedding in zip(submissions, classifications, embeddings):
        fp = duplicate_store.submission_fingerprint(submission, classification, embedding, salt)
        matches = []
        if predictor.duplicate_scorer is not None:
            matches = duplicate_store.find_duplicates(session, index, predictor.duplicate_scorer, fp, issue_links=True)
        case = case_store.register_case(session, submission, classification, salt, time_limits, fp, matches)
        index.add(case.id, fp)
        created.append(CaseCreated(id=case.id, created_at=case.created_at, classification=classification,
                                   duplicates=duplicate_store.shown(matches, contact_evidence), duplicate_group=case.duplicate_group,
                                   verification_code=case.verification_code))
    return created
