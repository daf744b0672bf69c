"""Request and response models of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from petition_triage.dedup.index import STAGES

MAX_TEXT_CHARS = 20_000
MAX_TITLE_CHARS = 500
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 1_000
MAX_BATCH = 64
# Row ids and offsets beyond a 32-bit integer cannot exist; bounding them keeps huge numbers a 422.
MAX_ROW_ID = 2**31 - 1

Channel = Literal["hotline", "mailbox", "web", "wechat", "letter", "other"]

_EXAMPLE = {
    "text": "来电人反映：西宁市城东区某小区电梯经常故障，上周把一位老人困在里面半小时，物业一直不修，要求尽快处理。",
    "title": None, "channel": "hotline", "metadata": {"work_order": "12345-2026-000123"},
}


def refuse_nul(data: object) -> None:
    """ValueError naming the first string (or key) in `data` that holds a NUL character, which
    PostgreSQL cannot store (it was a 503 from the database; it is a 422 naming the field)."""
    path = _nul_at(data)
    if path is not None:
        where = ".".join(str(p).replace("\x00", "\\x00") for p in path) or "the body"
        raise ValueError(f"{where} contains a NUL character (\\x00), which cannot be stored")


def _nul_at(value: object, path: tuple = ()) -> tuple | None:
    """The path of the first string (or key) holding a NUL character, else None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_at(key, (*path, key)) or _nul_at(item, (*path, key))
            if found is not None:
                return found
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = _nul_at(item, (*path, i))
            if found is not None:
                return found
    return None


class RequestBody(BaseModel):
    """A request body: no string in it may hold a NUL character (`refuse_nul`)."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: object) -> object:
        refuse_nul(data)
        return data


class ErrorDetail(BaseModel):
    """Every error answer: what was wrong, in words (or, for a 422, the fields and what each lacks)."""

    detail: str | list[dict]


_ERROR_MEANINGS = {
    401: "no API key, or one that is unknown or revoked",
    403: "the key's role may not do this",
    404: "no such case, link, model version or other object",
    409: "the object's state does not allow this (a lifecycle move, a second extension, a model that fails)",
    413: "the body is larger than the limit",
    422: "the request does not validate: the fields and what is wrong with each",
    429: "too many tries: wait (Retry-After) before the next",
    503: "no model is loaded, or the database is unavailable; nothing was stored",
}


def error_responses(*codes: int) -> dict[int, dict]:
    """OpenAPI `responses` for these error statuses, each with the shape every error answer has."""
    return {code: {"model": ErrorDetail, "description": _ERROR_MEANINGS[code]} for code in codes}


class Submission(RequestBody):
    """One petition or hotline submission."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    text: str = Field(max_length=MAX_TEXT_CHARS, description=f"正文, at most {MAX_TEXT_CHARS} characters")
    title: str | None = Field(default=None, max_length=MAX_TITLE_CHARS)
    channel: Channel = "other"
    metadata: dict[str, str | int | float | bool | None] = Field(default_factory=dict, max_length=50)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("text is empty or only whitespace")
        return text

    @field_validator("metadata")
    @classmethod
    def _bounded(cls, metadata: dict) -> dict:
        for key, value in metadata.items():
            if len(key) > MAX_METADATA_KEY_CHARS:
                raise ValueError(f"metadata key {key[:20]!r}… is longer than {MAX_METADATA_KEY_CHARS} characters")
            if isinstance(value, str) and len(value) > MAX_METADATA_VALUE_CHARS:
                raise ValueError(f"metadata value of {key!r} has {len(value)} characters; at most "
                                 f"{MAX_METADATA_VALUE_CHARS} are allowed")
        return metadata


class BatchRequest(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [
        _EXAMPLE, {"text": "请问孩子今年上小学，学区怎么划分？需要准备哪些入学材料？", "channel": "web", "metadata": {}}]}]})

    items: list[Submission] = Field(min_length=1, max_length=MAX_BATCH,
                                    description=f"1 to {MAX_BATCH} submissions")


class LabelScore(BaseModel):
    label: str
    name_zh: str
    probability: float


class TypePrediction(BaseModel):
    label: str
    name_zh: str
    probability: float
    probabilities: dict[str, float]


class DepartmentPrediction(BaseModel):
    label: str
    name_zh: str
    probability: float
    top_k: list[LabelScore]


class RiskReason(BaseModel):
    code: str
    name_zh: str
    source: Literal["model", "keyword"]
    score: float | None = Field(default=None, description="model probability (source=model)")
    evidence: str | None = Field(default=None, description="the phrase that matched (source=keyword)")


class RiskPrediction(BaseModel):
    level: str
    name_zh: str
    score: float = Field(description="probability that the case is not routine (1 - p(normal))")
    probabilities: dict[str, float]
    reasons: list[RiskReason]


class Keyword(BaseModel):
    word: str
    weight: float


class PlaceView(BaseModel):
    province: str | None
    city: str | None
    county: str | None
    town: str | None
    code: str | None = Field(description="administrative division code of the most specific level known")
    source: Literal["text", "channel", "text+channel", "none"]
    objects: list[str] = Field(description="named objects the matter is about: 小区、学校、医院、道路、企业…")


class RouteOptionView(BaseModel):
    office: str
    department: str
    rule: str | None


class RouteView(BaseModel):
    office: str = Field(description="the receiving office (事权单位), or the human dispatcher")
    department: str | None
    region_code: str | None
    rule: str | None = Field(description="the routing rule that fired; null when a person must decide")
    confidence: float
    reason: str
    options: list[RouteOptionView] = Field(description="the candidates shown to the dispatcher when it is split")
    table_version: str


class Classification(BaseModel):
    type: TypePrediction | None
    department: DepartmentPrediction | None
    risk: RiskPrediction | None
    keywords: list[Keyword]
    needs_review: bool
    review_reasons: list[str]
    model_version: str
    place: PlaceView | None = None
    route: RouteView | None = None


class BatchResponse(BaseModel):
    items: list[Classification]


class CorrectionRequest(RequestBody):
    """A reviewer's correction: any of the labels, with an optional reason."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"department": "market_regulation", "reason": "电梯属特种设备，由市场监管部门负责"}]})

    type: str | None = None
    department: str | None = None
    risk: str | None = None
    risk_reasons: list[str] | None = None
    office: str | None = Field(default=None, max_length=200, description="the receiving office (a routing-table office)")
    reason: str | None = Field(default=None, max_length=2000)


class AcceptRequest(RequestBody):
    """A reviewer's confirmation that the case's current labels are right."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "电梯安全归市场监管，预测正确"}]})

    reason: str | None = Field(default=None, max_length=2000)


class CorrectionEvent(BaseModel):
    id: int
    field: str
    from_value: str | None
    to_value: str | None
    reason: str | None
    actor: str
    model_version: str | None
    created_at: datetime


class DuplicateEvidence(BaseModel):
    stages: list[Literal[STAGES]] = Field(
        description="the search stages that proposed the earlier case")
    semantic_similarity: float = Field(description="cosine of the two sentence embeddings")
    text_similarity: float = Field(description="IDF-weighted word Jaccard of the two texts")
    shared_terms: list[str] = Field(description="the rarest words both texts use: places, objects, names")
    same_contact: bool | None = Field(description="a hashed phone or ID number is the same; null for intake keys, "
                                                  "which may not learn whether a contact has filed before")
    same_name: bool | None = Field(description="the hashed submitter name is the same; null for intake keys")
    containment: float | None = Field(default=None, description="share of the shorter text's weighted words the "
                                                              "longer one has too (a short follow-up of a letter)")
    same_place: bool | None = Field(default=None, description="the same county (true), places that cannot be the "
                                                              "same (false), or unknown (null)")
    days_apart: float | None = Field(default=None, description="days between the two submissions")


class DuplicateMatch(BaseModel):
    case_id: str
    kind: Literal["duplicate", "related"] = Field(
        description="duplicate: same submitter, same matter (一件多投); related: same public issue, other submitters")
    score: float = Field(description="the scorer's probability of that kind")
    evidence: DuplicateEvidence


class DuplicateSearchRequest(Submission):
    """A submission to look up; nothing is stored."""

    limit: int = Field(default=10, ge=1, le=50)


class DuplicateSearchResponse(BaseModel):
    matches: list[DuplicateMatch]
    indexed_cases: int


class DuplicateLinkView(BaseModel):
    id: int
    case_id: str = Field(description="the later case, that found the link")
    other_case_id: str
    kind: str
    score: float
    evidence: DuplicateEvidence
    status: Literal["suggested", "confirmed", "split"]
    created_at: datetime


class LinkReviewRequest(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"action": "split", "reason": "同一人，但两件事不同：一件是公租房咨询，一件是物业投诉"}]})

    action: Literal["confirmed", "split"]
    reason: str | None = Field(default=None, max_length=2000)


class HotIssueView(BaseModel):
    title: str = Field(description="the most common title in the cluster, else the opening of its first case")
    department: str | None
    cases: int
    submitters: int = Field(description="distinct submitters: one person's duplicates count once")
    trend: Literal["rising", "steady", "falling"]
    first_half: int = Field(description="cases in the first half of the window")
    second_half: int = Field(description="cases in the second half of the window")
    case_ids: list[str]
    first_seen: datetime
    last_seen: datetime


class HotIssues(BaseModel):
    since: datetime
    until: datetime
    items: list[HotIssueView]


class CaseCreated(BaseModel):
    id: str
    created_at: datetime
    classification: Classification
    duplicates: list[DuplicateMatch] = Field(description="earlier duplicates and related cases, best first")
    duplicate_group: str | None = Field(description="the duplicate group the case joined (the id of its first case)")
    verification_code: str = Field(description="give it to the petitioner with the case id: with both they can "
                                               "check the case's status; shown only here, stored only hashed")


class IntakeResult(BaseModel):
    channel: str
    cases: list[CaseCreated]


State = Literal["registered", "accepted", "in_progress", "answered", "closed", "returned", "supervised"]


class TransitionRequest(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"to": "accepted", "note": "属本单位职责，予以受理"}]})

    to: State
    note: str | None = Field(default=None, max_length=2000)


class ExtensionRequest(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"days": 30, "reason": "涉及多部门，需现场核查"}]})

    days: int = Field(ge=1, le=365, description="calendar days added to the handling limit (the policy caps it)")
    reason: str = Field(min_length=1, max_length=2000)


class CaseEventView(BaseModel):
    id: int
    kind: Literal["transition", "extension"]
    from_state: str
    to_state: str
    days: int | None
    note: str | None
    actor: str
    created_at: datetime


class CaseHeader(BaseModel):
    """What a list shows of a case."""

    id: str
    created_at: datetime
    channel: str
    title: str | None
    excerpt: str
    department: str | None


class CaseSummary(CaseHeader):
    state: str
    state_zh: str
    due_at: datetime | None
    overdue: bool


class CaseList(BaseModel):
    items: list[CaseSummary]
    total: int


class CaseDetail(BaseModel):
    id: str
    created_at: datetime
    channel: str
    title: str | None
    text: str
    metadata: dict
    classification: Classification
    current: dict[str, str | list[str] | None] = Field(description="labels after the latest corrections")
    history: list[CorrectionEvent]
    duplicate_group: str | None = None
    links: list[DuplicateLinkView] = Field(default_factory=list, description="duplicate and related links")
    state: str = "registered"
    state_zh: str = "登记"
    due_at: datetime | None = Field(default=None, description="deadline of the current state (Beijing end of day)")
    overdue: bool = False
    events: list[CaseEventView] = Field(default_factory=list, description="lifecycle transitions and extensions")


class QueueItem(CaseHeader):
    department_probability: float | None
    risk: str | None
    priority: float
    why: list[str]


class ReviewQueue(BaseModel):
    items: list[QueueItem]


class ModelVersion(BaseModel):
    version: str
    path: str
    active: bool
    metrics: dict
    cases_to_reindex: int | None = Field(
        default=None, description="on activation: stored cases whose duplicate-search embedding another model made; "
                                  "duplicate search skips them until `petition-triage duplicates reindex` has run")


class ModelList(BaseModel):
    items: list[ModelVersion]


class Health(BaseModel):
    status: str
    model_version: str | None = None
    database: str | None = None
    routing: str | None = Field(default=None, description="ok, or why the routing table in force cannot route")
    detail: str | None = None


class CaseStatus(BaseModel):
    """What a petitioner sees of their case: where it stands, nothing else."""

    case_id: str
    state: str
    state_zh: str
    registered_at: datetime
    last_update: datetime
    due_at: datetime | None
    department: str | None


class WebhookCreate(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"url": "https://dispatch.example.gov.cn/hooks/petitions", "event_types": ["case.overdue", "case.due_soon"]}]})

    url: str = Field(pattern=r"^https?://", max_length=2000)
    secret: str | None = Field(default=None, min_length=16, max_length=128,
                               description="HMAC-SHA256 key; generated when left out")
    event_types: list[str] = Field(default_factory=list, description="empty for every event type")


class WebhookView(BaseModel):
    id: int
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime
    secret: str | None = Field(default=None, description="only in the answer that created it")


class WebhookList(BaseModel):
    items: list[WebhookView]


class DeliveryView(BaseModel):
    channel: str
    status: str
    attempts: int
    last_error: str | None
    delivered_at: datetime | None


class NotificationView(BaseModel):
    id: int
    event_type: str
    case_id: str | None
    payload: dict
    created_at: datetime
    deliveries: list[DeliveryView]


class NotificationList(BaseModel):
    items: list[NotificationView]


class TrendPoint(BaseModel):
    period: str = Field(description="a Beijing-time day (2026-11-27) or week (2026-W48)")
    cases: int


class Stats(BaseModel):
    bucket: Literal["day", "week"]
    total: int
    by_state: dict[str, int]
    by_department: dict[str, int]
    by_channel: dict[str, int]
    by_type: dict[str, int]
    by_risk: dict[str, int]
    by_region_code: dict[str, int] = Field(description="by the division code of the place the case names")
    by_office: dict[str, int] = Field(description="by the office the case was routed to")
    trend: list[TrendPoint]
    overdue: int
    duplicate_rate: float = Field(description="share of the cases that are in a duplicate group")
    misroute_rate_by_department: dict[str, float] = Field(
        description="per predicted department, the share of its cases whose department a reviewer corrected")


class RoutingTableInfo(BaseModel):
    version: str
    dispatcher: str
    rules: int
    offices: int
    problems: list[str] = Field(description="rules that conflict or can never fire")
