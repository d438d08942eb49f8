"""One retry policy for every caller of the server: the Python client, the CLI and the worker.

What is retried, and why it is safe:

- a connection that could not be made (refused, DNS, connect timeout, no free connection in the
  pool): nothing reached the server, so any call may be sent again;
- 503 (the server or a proxy is starting, stopping or its database is busy: ``database_busy``
  rolls the transaction back) and 429: the server says it did not do the work, so any call may
  be sent again;
- a connection lost after the request was sent (reset, read timeout, the server closed it
  without an answer), 502 and 504 (a proxy lost the server): the server may have done the work,
  so only calls that are idempotent (GET, HEAD, PUT, DELETE, OPTIONS) or that the caller made
  safe to repeat (``idempotent=True``: the worker's calls carry leases and dispatch tokens) are
  sent again; a proxy's HTML page in place of an API answer counts the same.

Delays grow from ``first_delay`` doubling up to ``cap``, each jittered down by up to half, so
that many clients cut off by one restart do not come back in step.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx

from visionhub.client.errors import ClientError

log = logging.getLogger("visionhub.client")

T = TypeVar("T")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

# Answers that say the server did not do the work: safe to repeat whatever the call.
NOT_DONE_STATUSES = frozenset({429, 503})
# Answers from a proxy that lost the server: the work may have been done.
GATEWAY_STATUSES = frozenset({502, 504})

# Transport errors raised before the request left this process.
_NOT_SENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)


class RetryInterrupted(Exception):
    """The caller's ``cancel`` event was set while a call waited to be retried."""


class TransientError(Exception):
    """A failure another layer (e.g. an image download) declares worth retrying, like a
    connection error, when the call is idempotent."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how often a failed call to the server is sent again.

    ``attempts`` counts the retries after the first try (``None``: until it succeeds or the
    caller's ``cancel`` event is set, as the worker does); ``extra_statuses`` are further
    answers retried for idempotent calls (the worker adds every 5xx: a worker has nobody to report to
    and should outlive a server bug that a deploy fixes).
    """

    attempts: int | None = 5
    first_delay: float = 0.25
    cap: float = 5.0
    extra_statuses: frozenset[int] = frozenset()

    def delay(self, attempt: int) -> float:
        """The wait before retry number ``attempt`` (0-based)."""
        ceiling = min(self.cap, self.first_delay * 2.0**attempt)
        jitter: float = random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not a secret)
        return jitter * ceiling

    def problem(self, exc: BaseException, *, idempotent: bool) -> str | None:
        """Why ``exc`` is worth a retry, or None if it is not (then it is raised at once)."""
        if isinstance(exc, ClientError):
            if exc.status in NOT_DONE_STATUSES:
                return f"{exc.status} {exc.code}"
            if idempotent and (exc.status in GATEWAY_STATUSES or exc.status in self.extra_statuses):
                return f"{exc.status} {exc.code}"
            return None
        if isinstance(exc, _NOT_SENT_ERRORS):
            return f"{type(exc).__name__}: {exc}"
        if idempotent and isinstance(exc, httpx.TransportError | TransientError):
            return f"{type(exc).__name__}: {exc}"
        if idempotent and isinstance(exc, json.JSONDecodeError):
            return f"the answer is not JSON ({exc})"
        return None

    def call(
        self,
        what: str,
        fn: Callable[[], T],
        *,
        idempotent: bool,
        cancel: threading.Event | None = None,
        logger: logging.Logger = log,
    ) -> T:
        """``fn()``, retried as this policy says; the last error is raised when retries run out.

        With ``cancel``, a retry is not made once it is set: ``RetryInterrupted`` is raised.
        """
        attempt = 0
        while True:
            if attempt and cancel is not None and cancel.is_set():
                raise RetryInterrupted(what)
            try:
                result = fn()
            except Exception as exc:
                problem = self.problem(exc, idempotent=idempotent)
                if problem is None or (self.attempts is not None and attempt >= self.attempts):
                    raise
                delay = self.delay(attempt)
                if attempt == 0 or attempt % 10 == 0:
                    logger.warning("%s: %s; retrying in %.1f s", what, problem, delay)
                attempt += 1
                if cancel is not None:
                    cancel.wait(delay)
                else:
                    time.sleep(delay)
                continue
            if attempt:
                logger.info("%s: the server answers again (after %d retries)", what, attempt)
            return result


# The client's and the CLI's default: about 8 s of retries (0.25 + 0.5 + 1 + 2 + 4, jittered),
# enough for a server restart or a database lock to pass, short enough to report a real outage.
DEFAULT_POLICY = RetryPolicy()
# A policy that never retries, for callers that retry around the client themselves.
NO_RETRY = RetryPolicy(attempts=0)
# The worker's: until the call succeeds or the worker stops.
WORKER_POLICY = RetryPolicy(attempts=None, extra_statuses=frozenset(range(500, 600)))
