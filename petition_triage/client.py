"""A typed Python client of the petition-triage HTTP API, sync and async.

    from petition_triage.client import Client

    with Client("http://127.0.0.1:8000", api_key="pt_...") as client:
        result = client.classify("小区电梯坏了三天，物业不修", channel="hotline")
        print(result.department.label, result.needs_review)

`AsyncClient` has the same methods as coroutines. Answers are the API's own pydantic models; an
error answer raises `APIError` with the status and the API's `detail`. A 503 (no model loaded yet,
the database briefly away) and a dropped connection are retried with backoff, honouring Retry-After.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from petition_triage.service.api.schemas import (BatchResponse, CaseCreated, CaseDetail, Classification,
                                                 CorrectionRequest, DuplicateSearchResponse, HotIssues, Submission)

T = TypeVar("T", bound=BaseModel)
RETRY_STATUSES = frozenset({503})


class APIError(Exception):
    """An error answer: `status` and the API's `detail` (a message, or a list of field problems)."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class _Call:
    """One API call: what to send and what comes back."""

    method: str
    path: str
    answer: type[BaseModel]
    json: dict | None = None
    params: dict | None = None


def _submission(text: str | Submission, title: str | None, channel: str, metadata: dict | None) -> dict:
    if isinstance(text, Submission):
        return text.model_dump(mode="json", exclude_none=True)
    return Submission(text=text, title=title, channel=channel, metadata=metadata or {}).model_dump(
        mode="json", exclude_none=True)


def _window(since: datetime | None, until: datetime | None) -> dict:
    return {k: v.isoformat() for k, v in (("since", since), ("until", until)) if v is not None}


class _Calls:
    """The API's calls, shared by the sync and async clients (each adds only how it sends them)."""

    @staticmethod
    def classify(text: str | Submission, title: str | None = None, channel: str = "other",
                 metadata: dict | None = None) -> _Call:
        return _Call("POST", "/v1/classify", Classification, _submission(text, title, channel, metadata))

    @staticmethod
    def classify_batch(submissions: list[Submission]) -> _Call:
        return _Call("POST", "/v1/classify:batch", BatchResponse,
                     {"items": [s.model_dump(mode="json", exclude_none=True) for s in submissions]})

    @staticmethod
    def register_case(text: str | Submission, title: str | None = None, channel: str = "other",
                      metadata: dict | None = None) -> _Call:
        return _Call("POST", "/v1/cases", CaseCreated, _submission(text, title, channel, metadata))

    @staticmethod
    def search_duplicates(text: str | Submission, title: str | None = None, channel: str = "other",
                          metadata: dict | None = None, limit: int = 10) -> _Call:
        return _Call("POST", "/v1/duplicates:search", DuplicateSearchResponse,
                     {**_submission(text, title, channel, metadata), "limit": limit})

    @staticmethod
    def get_case(case_id: str) -> _Call:
        return _Call("GET", f"/v1/cases/{case_id}", CaseDetail)

    @staticmethod
    def correct(case_id: str, correction: CorrectionRequest) -> _Call:
        return _Call("POST", f"/v1/cases/{case_id}/corrections", CaseDetail,
                     correction.model_dump(mode="json", exclude_none=True))

    @staticmethod
    def hot_issues(since: datetime | None = None, until: datetime | None = None) -> _Call:
        return _Call("GET", "/v1/hot-issues", HotIssues, params=_window(since, until))


def _answer(call: _Call, response: httpx.Response) -> BaseModel:
    if response.is_success:
        return call.answer.model_validate(response.json())
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    raise APIError(response.status_code, detail)


def _delay(response: httpx.Response | None, attempt: int, backoff: float) -> float:
    """Seconds before the next try: the server's Retry-After where it gives one, else exponential."""
    if response is not None:
        try:
            return min(float(response.headers["Retry-After"]), 60.0)
        except (KeyError, ValueError):
            pass
    return backoff * 2 ** attempt


class _Base:
    def __init__(self, base_url: str, api_key: str | None, timeout: float, retries: int, backoff: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.timeout, self.retries, self.backoff = timeout, retries, backoff


class Client(_Base):
    """The API over a blocking connection pool (`httpx.Client`)."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 30.0, retries: int = 3,
                 backoff: float = 0.5, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(base_url, api_key, timeout, retries, backoff)
        self._http = httpx.Client(base_url=self.base_url, headers=self.headers, timeout=timeout, transport=transport)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: _Call) -> Any:
        for attempt in range(self.retries + 1):
            response = None
            try:
                response = self._http.request(call.method, call.path, json=call.json, params=call.params)
                if response.status_code not in RETRY_STATUSES or attempt == self.retries:
                    return _answer(call, response)
            except httpx.TransportError:
                if attempt == self.retries:
                    raise
            time.sleep(_delay(response, attempt, self.backoff))
        raise AssertionError("unreachable")

    def classify(self, text: str | Submission, title: str | None = None, channel: str = "other",
                 metadata: dict | None = None) -> Classification:
        return self._send(_Calls.classify(text, title, channel, metadata))

    def classify_batch(self, submissions: list[Submission]) -> list[Classification]:
        return self._send(_Calls.classify_batch(submissions)).items

    def register_case(self, text: str | Submission, title: str | None = None, channel: str = "other",
                      metadata: dict | None = None) -> CaseCreated:
        return self._send(_Calls.register_case(text, title, channel, metadata))

    def search_duplicates(self, text: str | Submission, title: str | None = None, channel: str = "other",
                          metadata: dict | None = None, limit: int = 10) -> DuplicateSearchResponse:
        return self._send(_Calls.search_duplicates(text, title, channel, metadata, limit))

    def get_case(self, case_id: str) -> CaseDetail:
        return self._send(_Calls.get_case(case_id))

    def correct(self, case_id: str, correction: CorrectionRequest) -> CaseDetail:
        return self._send(_Calls.correct(case_id, correction))

    def hot_issues(self, since: datetime | None = None, until: datetime | None = None) -> HotIssues:
        return self._send(_Calls.hot_issues(since, until))


class AsyncClient(_Base):
    """The API over an asyncio connection pool (`httpx.AsyncClient`); the same methods, awaited."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 30.0, retries: int = 3,
                 backoff: float = 0.5, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(base_url, api_key, timeout, retries, backoff)
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=self.headers, timeout=timeout,
                                       transport=transport)

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _send(self, call: _Call) -> Any:
        for attempt in range(self.retries + 1):
            response = None
            try:
                response = await self._http.request(call.method, call.path, json=call.json, params=call.params)
                if response.status_code not in RETRY_STATUSES or attempt == self.retries:
                    return _answer(call, response)
            except httpx.TransportError:
                if attempt == self.retries:
                    raise
            await asyncio.sleep(_delay(response, attempt, self.backoff))
        raise AssertionError("unreachable")

    async def classify(self, text: str | Submission, title: str | None = None, channel: str = "other",
                       metadata: dict | None = None) -> Classification:
        return await self._send(_Calls.classify(text, title, channel, metadata))

    async def classify_batch(self, submissions: list[Submission]) -> list[Classification]:
        return (await self._send(_Calls.classify_batch(submissions))).items

    async def register_case(self, text: str | Submission, title: str | None = None, channel: str = "other",
                            metadata: dict | None = None) -> CaseCreated:
        return await self._send(_Calls.register_case(text, title, channel, metadata))

    async def search_duplicates(self, text: str | Submission, title: str | None = None, channel: str = "other",
                                metadata: dict | None = None, limit: int = 10) -> DuplicateSearchResponse:
        return await self._send(_Calls.search_duplicates(text, title, channel, metadata, limit))

    async def get_case(self, case_id: str) -> CaseDetail:
        return await self._send(_Calls.get_case(case_id))

    async def correct(self, case_id: str, correction: CorrectionRequest) -> CaseDetail:
        return await self._send(_Calls.correct(case_id, correction))

    async def hot_issues(self, since: datetime | None = None, until: datetime | None = None) -> HotIssues:
        return await self._send(_Calls.hot_issues(since, until))
