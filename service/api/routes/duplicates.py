from datetime import datetime, timedelta, timezone

from fastapi import APIRouter, HTTPException, Path, Query, status

from ...storage import duplicate_store
from ...storage.tables import as_utc
from ..deps import (ContactSaltDep, DuplicateIndexDep, IntakeKey, ReviewerKey, SessionDep, TriageDep,
                    require_duplicate_scorer)
from ..keys import role_allows
from ..schemas import (MAX_ROW_ID, DuplicateLinkView, DuplicateSearchRequest, DuplicateSearchResponse, HotIssues,
                       LinkReviewRequest, error_responses)

router = APIRouter(prefix="/v1", tags=["duplicates"], responses=error_responses(401, 403, 404, 413, 422, 503))


@router.post("/duplicates:search", response_model=DuplicateSearchResponse)
async def search_duplicates(query: DuplicateSearchRequest, triage: TriageDep, index: DuplicateIndexDep,
                            session: SessionDep, caller: IntakeKey, salt: ContactSaltDep) -> DuplicateSearchResponse:
    """Earlier cases that are duplicates of this submission (same person, same matter) or related to it
    (same public issue, other people), with the evidence for each. Nothing is stored. For intake keys the
    search compares no contact fields and says nothing of them (reviewers and admins get both)."""
    scorer = require_duplicate_scorer(triage.predictor)
    sees_contacts = role_allows(caller.role, "reviewer")
    if not sees_contacts:
        query = duplicate_store.without_contacts(query)
    # The place, as registering would find it: where a case is about is part of what makes a duplicate.
    (classification,), embeddings = await triage.classify_and_embed([query], counted=False)
    fp = duplicate_store.submission_fingerprint(query, classification, embeddings[0], salt)
    matches = duplicate_store.find_duplicates(session, index, scorer, fp, query.limit)
    return DuplicateSearchResponse(matches=duplicate_store.shown(matches, sees_contacts), indexed_cases=len(index))


@router.post("/duplicate-links/{link_id}/review", response_model=DuplicateLinkView)
def review_link(review: LinkReviewRequest, session: SessionDep, reviewer: ReviewerKey,
                link_id: int = Path(ge=1, le=MAX_ROW_ID)) -> DuplicateLinkView:
    """Confirms or splits a link found by search. The review is an event; a split takes the case out of
    its duplicate group, a later confirm puts it back."""
    link = duplicate_store.get_link(session, link_id)
    if link is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no duplicate link with id {link_id}")
    duplicate_store.review_link(session, link, review.action, review.reason, reviewer.name)
    return duplicate_store.link_view(duplicate_store.get_link(session, link_id))


@router.get("/hot-issues", response_model=HotIssues)
def hot_issues(session: SessionDep, _: ReviewerKey,
               since: datetime | None = Query(None, description="start of the window (ISO 8601); default 7 days ago"),
               until: datetime | None = Query(None, description="end of the window; default now"),
               min_submitters: int = Query(duplicate_store.MIN_SUBMITTERS, ge=2, le=1000),
               limit: int = Query(20, ge=1, le=100)) -> HotIssues:
    """Clusters of related submissions by many people: size, a representative title, the department and
    whether it is rising."""
    until = as_utc(until) if until else datetime.now(timezone.utc)
    since = as_utc(since) if since else until - timedelta(days=7)
    if since >= until:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail="since must be before until")
    issues = duplicate_store.hot_issues(session, since, until, min_submitters, limit)
    return HotIssues(since=since, until=until, items=[duplicate_store.hot_issue_view(h) for h in issues])

