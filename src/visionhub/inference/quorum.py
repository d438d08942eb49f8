"""Redundant computing against falsified results (BOINC-style), as pure decisions.

A deployment with replication K and quorum Q hands each request to K different worker accounts
and accepts a label once Q of their votes agree. When the votes that are in (and those still
out) can no longer reach Q, one more account is asked, up to ``EXTRA_REPLICAS`` beyond K; then
the request fails with ``no_consensus``. Once a label is accepted, every vote on the request is
compared with it, and each account's agreement rate is kept; an account whose rate falls below
``settings.WORKER_MIN_AGREEMENT`` (after ``MIN_VOTES`` compared votes) is only given requests
whose quorum is at least 2, where one liar cannot decide an answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from django.conf import settings

EXTRA_REPLICAS = 2
MIN_VOTES: int = getattr(settings, "WORKER_MIN_VOTES", 10)


def max_replicas(replication: int) -> int:
    """How many accounts may be asked in all about one request."""
    return replication + EXTRA_REPLICAS if replication > 1 else 1


def winner(labels: Sequence[str], quorum: int) -> str | None:
    """The label with at least ``quorum`` votes, if any (the first to get there on a tie)."""
    counts: Counter[str] = Counter()
    for label in labels:
        counts[label] += 1
        if counts[label] >= quorum:
            return label
    return None


def more_replicas(
    labels: Sequence[str], *, quorum: int, outstanding: int, wanted: int, limit: int
) -> int | None:
    """How many more leases to hand out for a request that has no accepted label yet.

    ``outstanding`` counts leases out now plus those not yet handed out. Returns 0 when the
    votes still to come may be enough, a positive number to ask more accounts, and ``None``
    when even ``limit`` accounts in all cannot reach the quorum (the request fails).
    """
    best = max(Counter(labels).values(), default=0)
    missing = quorum - best - outstanding
    if missing <= 0:
        return 0
    room = limit - wanted
    if missing > room:
        return None
    return missing


def is_trusted(compared: int, agreed: int) -> bool:
    """Whether an account with these vote counts may decide quorum-1 requests alone."""
    if compared < MIN_VOTES:
        return True
    threshold: float = settings.WORKER_MIN_AGREEMENT
    return agreed >= threshold * compared
