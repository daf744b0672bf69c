"""What every request passes before a route reads it: the body limit, the API key, the security headers.

Pure ASGI, so that nothing is buffered first: a body is counted as it streams in (a chunked upload has
no Content-Length to check) and refused with 413 the moment it passes the limit, and a write to the API
is authenticated before its first byte is read, so a caller without a valid key can make the service
hold nothing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from fastapi import HTTPException
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Pages send no script or style from elsewhere, and nothing may frame them (clickjacking a review form).
SECURITY_HEADERS = {
    "content-security-policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
# Writes that carry no API key: the petitioners' own routes (public) and the sign-in form (a page).
_OPEN_WRITES = ("/v1/public/",)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _BodyTooLarge(Exception):
    pass


async def _answer(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _too_large(limit: int, declared: str | None = None) -> str:
    size = f"of {declared} bytes " if declared else ""
    return f"request body {size}exceeds the limit of {limit} bytes"


class RequestGuards:
    """Body limit, authentication of API writes before their body, and security headers on every answer.

    `authenticate` is the one key check of the service (deps.authenticate); what it finds is left in the
    request's state, where the route's own dependency takes it without a second lookup.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int,
                 authenticate: Callable[[Request], object]) -> None:
        self.app, self.max_body_bytes, self.authenticate = app, max_body_bytes, authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send)
        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b""):
            # Never part of a real address, and PostgreSQL cannot even compare with it (a 503 before).
            await _answer(send, 422, "the URL contains a NUL character (%00)")
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            detail = (_too_large(self.max_body_bytes, declared) if declared.isdigit()
                      else f"Content-Length {declared[:40]!r} is not a byte count")
            await _answer(send, 413 if declared.isdigit() else 400, detail)
            return
        if _needs_key_first(scope):
            request = Request(scope)
            try:
                await run_in_threadpool(self.authenticate, request)
            except HTTPException as refused:
                await _answer(send, refused.status_code, refused.detail, refused.headers)
                return
            except OperationalError:  # a key not seen lately, and no database to look it up in
                await _answer(send, 503, "the database is unavailable, so the API key cannot be checked; "
                                         "nothing was stored, retry later")
                return
        await self._call_counting(scope, receive, send)

    async def _call_counting(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        exceeded = answered = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    exceeded = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            # FastAPI turns a failed body read into its own 400; the caller is told the real reason.
            nonlocal answered
            if exceeded:
                if not answered:
                    answered = True
                    await _answer(send, 413, _too_large(self.max_body_bytes))
                return
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _BodyTooLarge:
            pass
        if exceeded and not answered:
            await _answer(send, 413, _too_large(self.max_body_bytes))


def _needs_key_first(scope: Scope) -> bool:
    path = scope.get("path", "")
    return (scope.get("method") in _BODY_METHODS and path.startswith("/v1/")
            and not path.startswith(_OPEN_WRITES))


def _with_headers(send: Send) -> Callable[[Message], Awaitable[None]]:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {k.lower() for k, _ in message.get("headers", ())}
            extra = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in present]
            message = {**message, "headers": [*message.get("headers", ()), *extra]}
        await send(message)

    return send_with_headers
