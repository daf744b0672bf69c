"""Registering submissions: classify, look for duplicates, store. Shared by every intake route."""

from __future__ import annotations

from sqlalchemy.orm import Session

from petition_triage.dedup.index import DuplicateIndex
from petition_triage.places import extract_place

from . import case_store, duplicate_store
from .predictor import Predictor
from .routing import RoutingTable
from .schemas import CaseCreated, Classification, PlaceView, RouteView, Submission
from .service_metrics import ServiceMetrics
from .time_limits import TimeLimitPolicy


def attach_routes(classifications: list[Classification], submissions: list[Submission],
                  table: RoutingTable) -> list[Classification]:
    """Adds the place a submission names and the office it routes to."""
    for classification, submission in zip(classifications, submissions):
        region = submission.metadata.get("region")
        place = extract_place(f"{submission.title or ''}。{submission.text}", str(region) if region else None)
        departments = ([(s.label, s.probability) for s in classification.department.top_k]
                       if classification.department else [])
        route = table.route(departments, place, submission.text, submission.channel)
        classification.place = PlaceView(province=place.province, city=place.city, county=place.county,
                                         town=place.town, code=place.code, source=place.source, objects=place.objects)
        classification.route = RouteView(**{**route.__dict__, "options": [o.__dict__ for o in route.options]},
                                         table_version=table.version)
    return classifications


async def register_submissions(submissions: list[Submission], predictor: Predictor, index: DuplicateIndex,
                               session: Session, salt: str, metrics: ServiceMetrics,
                               time_limits: TimeLimitPolicy, routing: RoutingTable) -> list[CaseCreated]:
    """One model run for all of them; each case is stored in its own transaction, in order, so a later
    submission of the same payload finds an earlier one as its duplicate."""
    classifications, embeddings = await predictor.classify_and_embed(submissions)
    attach_routes(classifications, submissions, routing)
    created = []
    for submission, classification, embedding in zip(submissions, classifications, embeddings):
        metrics.observe_classification(classification)
        fp = duplicate_store.submission_fingerprint(submission, classification, embedding, salt)
        matches = []
        if predictor.duplicate_scorer is not None:
            matches = duplicate_store.find_duplicates(session, index, predictor.duplicate_scorer, fp, issue_links=True)
        case = case_store.register_case(session, submission, classification, salt, time_limits, fp, matches)
        index.add(case.id, fp)
        created.append(CaseCreated(id=case.id, created_at=case.created_at, classification=classification,
                                   duplicates=duplicate_store.shown(matches), duplicate_group=case.duplicate_group,
                                   verification_code=case.verification_code))
    return created
