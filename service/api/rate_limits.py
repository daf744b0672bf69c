"""Failed guesses counted per key in a sliding window: where guessing pays (a case's six-digit status
code, an API key), a caller gets a few tries, then waits.

In memory, per process: several processes each allow their own share, which still leaves a million
codes out of reach (10 failures an hour per case is a century for one case's code).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class FailureLimiter:
    """At most `max_failures` failures per key within `window_s` seconds."""

    def __init__(self, max_failures: int, window_s: float, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures, self.window_s, self.max_keys, self.clock = max_failures, window_s, max_keys, clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float | None:
        """Seconds until `key` may try again, or None when it may now."""
        with self._lock:
            failures = self._recent(key)
            if failures is None or len(failures) < self.max_failures:
                return None
            return max(failures[0] + self.window_s - self.clock(), 0.0) or None

    def fail(self, key: str) -> None:
        with self._lock:
            failures = self._recent(key)
            if failures is None:
                failures = self._failures[key] = deque()
            failures.append(self.clock())
            self._failures.move_to_end(key)
            while len(self._failures) > self.max_keys:  # memory stays bounded under a flood of keys
                self._failures.popitem(last=False)

    def _recent(self, key: str) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is not None:
            while failures and failures[0] <= self.clock() - self.window_s:
                failures.popleft()
        return failures


# A petitioner mistypes a code once or twice; an address may be shared by many (a carrier's NAT).
CODE_FAILURES_PER_CASE = 10
CODE_FAILURES_PER_CLIENT = 30
CODE_WINDOW_S = 3600.0


# API keys are 256-bit random, so wrong keys are mistakes or a scan; either way an address that sends 20 in
# ten minutes waits, and the scan's log stays short.
AUTH_FAILURES_PER_CLIENT = 20
AUTH_WINDOW_S = 600.0


def auth_failure_limiter(clock: Callable[[], float] = time.monotonic) -> FailureLimiter:
    """Wrong API keys (and sign-in attempts), counted per calling address."""
    return FailureLimiter(AUTH_FAILURES_PER_CLIENT, AUTH_WINDOW_S, clock=clock)


class StatusGuessLimits:
    """Wrong status codes, counted per case and per calling address."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_case = FailureLimiter(CODE_FAILURES_PER_CASE, CODE_WINDOW_S, clock=clock)
        self.per_client = FailureLimiter(CODE_FAILURES_PER_CLIENT, CODE_WINDOW_S, clock=clock)

    def retry_after(self, case_id: str, client: str) -> float | None:
        waits = [w for w in (self.per_case.retry_after(case_id), self.per_client.retry_after(client)) if w]
        return max(waits) if waits else None

    def fail(self, case_id: str, client: str) -> None:
        self.per_case.fail(case_id)
        self.per_client.fail(client)
