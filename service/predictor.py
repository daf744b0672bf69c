"""The predictor: an ONNX model directory behind a micro-batcher, answering in API terms."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from petition_triage.dedup.scorer import DuplicateScorer
from petition_triage.model.decision import HeadOutput, needs_review
from petition_triage.model.inference import EMBEDDING_OUTPUT, OnnxTriageModel
from petition_triage.model.keyword_evidence import KeywordEvidence
from petition_triage.model.risk_cues import URGENT_CUES, CueMatch, cue_text, find_cues, is_urgent
from petition_triage.model.taxonomy import Taxonomy

from .api.schemas import (Classification, DepartmentPrediction, Keyword, LabelScore, RiskPrediction, RiskReason,
                          Submission, TypePrediction)
from .batching import MicroBatcher

TOP_K = 3
SELF_CHECK_TEXTS = [
    "来电人反映：其所在小区物业乱收费，要求相关部门核查处理。",
    "请问异地就医备案需要准备哪些材料？",
    "建议在南川河沿岸增设公共厕所和休息座椅。",
]


class ModelCheckError(RuntimeError):
    """A model directory that does not load or gives nonsense on known inputs."""


class Predictor:
    def __init__(self, model_dir: Path, taxonomy: Taxonomy, max_batch: int = 16, max_wait_ms: float = 5.0,
                 on_batch=None) -> None:
        try:
            self.model = OnnxTriageModel(model_dir)
        except Exception as exc:
            raise ModelCheckError(f"model at {model_dir} does not load: {exc}") from exc
        self.keywords = KeywordEvidence.load(Path(model_dir))
        # None for a model directory without one: duplicate search is then off (503 on its routes).
        self.duplicate_scorer = DuplicateScorer.load(Path(model_dir))
        self.names = {
            "type": {l.code: l.name_zh for l in taxonomy.types},
            "department": {l.code: l.name_zh for l in taxonomy.departments},
            "risk": {l.code: l.name_zh for l in taxonomy.risk_levels},
            "reasons": {l.code: l.name_zh for l in taxonomy.risk_reasons},
        }
        self.batcher = MicroBatcher(self.model.run_ids, max_batch=max_batch, max_wait_ms=max_wait_ms,
                                    on_batch=on_batch)
        self.self_check()

    @property
    def version(self) -> str:
        return self.model.version

    def self_check(self) -> None:
        """Known inputs must give finite, normalised outputs of the right shapes."""
        try:
            outputs = self.model.run_ids(self.model.encode(SELF_CHECK_TEXTS))
        except Exception as exc:
            raise ModelCheckError(f"model {self.version} fails on sample texts: {exc}") from exc
        for head, codes in self.model.labels.items():
            value = outputs.get(head)
            if value is None or value.shape != (len(SELF_CHECK_TEXTS), len(codes)) or not np.isfinite(value).all():
                raise ModelCheckError(f"model {self.version}: output {head!r} is missing, misshapen or not finite")

    def _name(self, head: str, code: str) -> str:
        return self.names.get(head, {}).get(code, code)

    async def classify(self, submissions: list[Submission]) -> list[Classification]:
        classifications, _ = await self.classify_and_embed(submissions)
        return classifications

    async def classify_and_embed(self, submissions: list[Submission]) -> tuple[list[Classification], np.ndarray]:
        """Classifications and the pooled sentence embeddings (for duplicate search) of one model run."""
        # A long text may be read in several windows (the model's `long_texts`); pooled back to a row each.
        ids, windows = self.model.windows([s.text for s in submissions], [s.title for s in submissions])
        outputs = self.model.pool(await self.batcher.submit(ids), windows)
        cues = [find_cues(cue_text(s.text, s.title)) for s in submissions]
        urgent = np.array([is_urgent(found) for found in cues], dtype=bool)
        decided = self.model.decide(outputs, urgent)
        review = needs_review(decided, self.model.calibration, urgent)
        return ([self._classification(s, decided, row, cues[row], bool(review[row])) for row, s in enumerate(submissions)],
                outputs[EMBEDDING_OUTPUT])

    def _classification(self, submission: Submission, decided: dict[str, HeadOutput], row: int,
                        cues: list[CueMatch], to_review: bool) -> Classification:
        labels = self.model.labels
        thresholds = self.model.calibration.abstain_thresholds
        review: list[str] = []

        def confidence_check(head: str, probability: float) -> None:
            threshold = thresholds.get(head)
            if threshold is not None and probability < threshold:
                review.append(f"{head} confidence {probability:.2f} is below its threshold {threshold:.2f}")

        type_pred = None
        if "type" in decided:
            probs = decided["type"].probs[row]
            code = labels["type"][int(decided["type"].predicted[row])]
            type_pred = TypePrediction(label=code, name_zh=self._name("type", code), probability=float(probs.max()),
                                       probabilities={c: round(float(p), 4) for c, p in zip(labels["type"], probs)})
            confidence_check("type", float(probs.max()))

        dept_pred = None
        if "department" in decided:
            probs = decided["department"].probs[row]
            order = np.argsort(-probs)[:TOP_K]
            top = [LabelScore(label=labels["department"][i], name_zh=self._name("department", labels["department"][i]),
                              probability=round(float(probs[i]), 4)) for i in order]
            dept_pred = DepartmentPrediction(label=top[0].label, name_zh=top[0].name_zh,
                                             probability=top[0].probability, top_k=top)
            confidence_check("department", float(probs.max()))

        text = cue_text(submission.text, submission.title)
        risk_pred = self._risk(decided, row, cues, review, confidence_check)
        keywords = []
        if dept_pred is not None:
            keywords = [Keyword(word=w, weight=s) for w, s in
                        self.keywords.for_label(text, "department", dept_pred.label)]
        return Classification(type=type_pred, department=dept_pred, risk=risk_pred, keywords=keywords,
                              needs_review=to_review, review_reasons=review, model_version=self.version)

    def _risk(self, decided, row, cues, review, confidence_check) -> RiskPrediction | None:
        if "risk" not in decided:
            return None
        labels = self.model.labels
        probs = decided["risk"].probs[row]
        level = labels["risk"][int(decided["risk"].predicted[row])]
        confidence_check("risk", float(probs.max()))
        reasons: list[RiskReason] = []
        if "reasons" in decided and level != "normal":
            for code, p in zip(labels["reasons"], decided["reasons"].probs[row]):
                if p >= self.model.calibration.reason_threshold:
                    reasons.append(RiskReason(code=code, name_zh=self._name("reasons", code), source="model",
                                              score=round(float(p), 4)))
        for cue in cues:
            reasons.append(RiskReason(code=cue.code, name_zh=self._name("reasons", cue.code), source="keyword",
                                      evidence=cue.phrase))
        urgent = [c for c in cues if c.code in URGENT_CUES]
        if urgent:
            # The decision has already raised the level; a person reads such a case whatever it is.
            review.append("text names " + "、".join(f"{self._name('reasons', c.code)}（{c.phrase}）" for c in urgent))
        p_normal = float(probs[labels["risk"].index("normal")]) if "normal" in labels["risk"] else 0.0
        return RiskPrediction(level=level, name_zh=self._name("risk", level), score=round(1.0 - p_normal, 4),
                              probabilities={c: round(float(p), 4) for c, p in zip(labels["risk"], probs)},
                              reasons=reasons)


def margin(classification: Classification) -> float:
    """Top-1 minus top-2 department probability: small means the model could not decide."""
    if classification.department is None or len(classification.department.top_k) < 2:
        return math.inf
    top = classification.department.top_k
    return top[0].probability - top[1].probability
