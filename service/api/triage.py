"""Predict → place → office: the one pipeline every route (and `petition-triage predict`) runs to
classify, so that an answer, a stored case, a duplicate search and a back-filled file agree."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from petition_triage.places import extract_place

from ..offices.routing import RoutingTable
from ..predictor import Predictor
from ..service_metrics import ServiceMetrics
from .schemas import Classification, PlaceView, RouteView, Submission


@dataclass
class Triage:
    """The serving model and the routing table in force at the time of a request.

    `metrics`, where given, counts what the service decided (the predictions an API caller or a stored
    case receives; a duplicate search's own classification is not a decision and is not counted).
    """

    predictor: Predictor
    routing: RoutingTable
    metrics: ServiceMetrics | None = None

    async def classify(self, submissions: list[Submission]) -> list[Classification]:
        classifications, _ = await self.classify_and_embed(submissions)
        return classifications

    async def classify_and_embed(self, submissions: list[Submission],
                                 counted: bool = True) -> tuple[list[Classification], np.ndarray]:
        """Classifications with place and office, and the sentence embeddings of the same model run."""
        classifications, embeddings = await self.predictor.classify_and_embed(submissions)
        for classification, submission in zip(classifications, submissions):
            self._route(classification, submission)
            if counted and self.metrics is not None:
                self.metrics.observe_classification(classification)
        return classifications, embeddings

    def _route(self, classification: Classification, submission: Submission) -> None:
        """Adds the place the submission names and the office it routes to."""
        region = submission.metadata.get("region")
        place = extract_place(f"{submission.title or ''}。{submission.text}", str(region) if region else None)
        departments = ([(s.label, s.probability) for s in classification.department.top_k]
                       if classification.department else [])
        route = self.routing.route(departments, place, submission.text, submission.channel)
        classification.place = PlaceView(province=place.province, city=place.city, county=place.county,
                                         town=place.town, code=place.code, source=place.source, objects=place.objects)
        classification.route = RouteView(**{**route.__dict__, "options": [o.__dict__ for o in route.options]},
                                         table_version=self.routing.version)
