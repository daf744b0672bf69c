"""Prometheus metrics of one app instance (own registry, so test apps do not collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("triage_http_requests", "HTTP requests", ["route", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("triage_http_request_seconds", "HTTP request latency", ["route"],
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
                                 registry=self.registry)
        self.batch_size = Histogram("triage_inference_batch_size", "rows per onnxruntime run",
                                    buckets=(1, 2, 4, 8, 16, 32, 64), registry=self.registry)
        self.predictions = Counter("triage_predictions", "predicted labels", ["head", "label"], registry=self.registry)
        self.needs_review = Counter("triage_needs_review", "classifications sent to human review",
                                    registry=self.registry)
        self.classified = Counter("triage_classifications", "submissions classified", registry=self.registry)

    def observe_classification(self, classification) -> None:
        self.classified.inc()
        if classification.needs_review:
            self.needs_review.inc()
        for head in ("type", "department"):
            value = getattr(classification, head)
            if value is not None:
                self.predictions.labels(head, value.label).inc()
        if classification.risk is not None:
            self.predictions.labels("risk", classification.risk.level).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
