"""The hot-path SQL of the inference app: every statement, and its other-database twin beside
it, named and described (``Twin`` holds the two; ``.current`` picks this process's database).

Claims (``CLAIM``, ``PEEK``), fairness (``QUEUE_HEAD``, ``USER_TAIL``), expiry
(``EXPIRED_LEASES``) and the bulk writes of claims and results (``INSERT_TOKENS``,
``WRITE_REQUESTS``, ``INSERT_RESULTS``, ``LOCK_REQUESTS_OF_TOKENS``). The statements are built
from the constants here only, never from input.
"""

from __future__ import annotations

from collections.abc import Sequence

from visionhub.core.db import Twin

# --- the bulk statements -------------------------------------------------------------------------

# The columns of a request that the queue changes, with their PostgreSQL types.
STATE_COLUMNS = (
    ("status", "text"),
    ("open_slots", "integer"),
    ("active_leases", "integer"),
    ("attempts", "integer"),
    ("failures", "integer"),
    ("errors", "jsonb"),
    ("label", "text"),
    ("scores", "jsonb"),
    ("completed_at", "timestamptz"),
    ("replicas_wanted", "integer"),
    ("detections", "jsonb"),
)
RESULT_COLUMNS = (
    ("request_id", "bigint"),
    ("token_id", "bigint"),
    ("worker_id", "bigint"),
    ("user_id", "bigint"),
    ("attempt", "integer"),
    ("label", "text"),
    ("scores", "jsonb"),
    ("errors", "jsonb"),
    ("accepted", "boolean"),
    ("agreed", "boolean"),
    ("detections", "jsonb"),
)
TOKEN_COLUMNS = (
    ("request_id", "bigint"),
    ("attempt", "integer"),
    ("token_hash", "text"),
    ("replicated", "boolean"),
)


def _recordset(columns: Sequence[tuple[str, str]]) -> str:
    """PostgreSQL: the rows of a JSON array parameter as a typed table ``v``."""
    return (
        "jsonb_to_recordset(%s::jsonb) AS v("
        + ", ".join(f"{name} {kind}" for name, kind in columns)
        + ")"
    )


def _sqlite_values(columns: Sequence[tuple[str, str]]) -> list[str]:
    """SQLite: the fields of each element ``v`` of ``json_each(<a JSON array parameter>)``."""
    return [f"json_extract(v.value, '$.{name}')" for name, _ in columns]


# Sets the queue columns of many requests in one statement. (The statements here are built
# from the column constants above only, never from input: S608 does not apply.)
_WRITE_REQUESTS_POSTGRES = (
    "UPDATE inference_classificationrequest AS r SET "  # noqa: S608
    + ", ".join(f"{name} = v.{name}" for name, _ in STATE_COLUMNS)
    + " FROM "
    + _recordset([("id", "bigint"), *STATE_COLUMNS])
    + " WHERE r.id = v.id"
)
_WRITE_REQUESTS_SQLITE = (
    "UPDATE inference_classificationrequest SET "  # noqa: S608
    + ", ".join(
        f"{name} = {value}"
        for (name, _), value in zip(STATE_COLUMNS, _sqlite_values(STATE_COLUMNS), strict=True)
    )
    + " FROM json_each(%s) AS v"
    + " WHERE inference_classificationrequest.id = json_extract(v.value, '$.id')"
)
WRITE_REQUESTS = Twin(postgres=_WRITE_REQUESTS_POSTGRES, sqlite=_WRITE_REQUESTS_SQLITE)

# Inserts the results of one call; the first parameter is their completion time.
_RESULT_INSERT = (
    "INSERT INTO inference_classificationresult ("
    + ", ".join(name for name, _ in RESULT_COLUMNS)
    + ", completed_on) SELECT "
)
_INSERT_RESULTS_POSTGRES = (
    _RESULT_INSERT
    + ", ".join(f"v.{name}" for name, _ in RESULT_COLUMNS)
    + ", %s FROM "
    + _recordset(RESULT_COLUMNS)
)
_INSERT_RESULTS_SQLITE = (
    _RESULT_INSERT + ", ".join(_sqlite_values(RESULT_COLUMNS)) + ", %s FROM json_each(%s) AS v"
)
INSERT_RESULTS = Twin(postgres=_INSERT_RESULTS_POSTGRES, sqlite=_INSERT_RESULTS_SQLITE)

# Inserts the tokens of one claim: user, worker, creation and expiry are the same for all.
_TOKEN_INSERT = (
    "INSERT INTO inference_dispatchtoken ("
    + ", ".join(name for name, _ in TOKEN_COLUMNS)
    + ", user_id, worker_id, created_at, expires_at, state) SELECT "
)
# A second lease of one account on a replicated request (two of its processes raced) is
# skipped, not an error: the caller sees fewer rows inserted. (``WHERE true`` lets SQLite parse
# ON CONFLICT after a SELECT.)
_SKIP_DUPLICATE_VOTES = " WHERE true ON CONFLICT DO NOTHING"
_INSERT_TOKENS_POSTGRES = (
    _TOKEN_INSERT
    + ", ".join(f"v.{name}" for name, _ in TOKEN_COLUMNS)
    + ", %s, %s, %s, %s, 'active' FROM "
    + _recordset(TOKEN_COLUMNS)
    + _SKIP_DUPLICATE_VOTES
)
_INSERT_TOKENS_SQLITE = (
    _TOKEN_INSERT
    + ", ".join(_sqlite_values(TOKEN_COLUMNS))
    + ", %s, %s, %s, %s, 'active' FROM json_each(%s) AS v"
    + _SKIP_DUPLICATE_VOTES
)
INSERT_TOKENS = Twin(postgres=_INSERT_TOKENS_POSTGRES, sqlite=_INSERT_TOKENS_SQLITE)


# The requests of the tokens with these hashes (one parameter, a list), locked in id order.
# On PostgreSQL ``ARRAY(subquery)`` is computed first and the lock walks the primary key for
# exactly those ids (a join or ``IN (subquery)`` may be planned as a merge join over the
# whole primary key).
_LOCK_REQUESTS_OF_TOKENS_POSTGRES = """
SELECT * FROM inference_classificationrequest
WHERE id = ANY(ARRAY(SELECT request_id FROM inference_dispatchtoken WHERE token_hash = ANY(%s)))
ORDER BY id FOR UPDATE"""
_LOCK_REQUESTS_OF_TOKENS_SQLITE = """
SELECT * FROM inference_classificationrequest
WHERE id IN (SELECT request_id FROM inference_dispatchtoken
             WHERE token_hash IN (SELECT value FROM json_each(%s)))
ORDER BY id"""
LOCK_REQUESTS_OF_TOKENS = Twin(
    postgres=_LOCK_REQUESTS_OF_TOKENS_POSTGRES, sqlite=_LOCK_REQUESTS_OF_TOKENS_SQLITE
)


# --- SQL of the hot path ------------------------------------------------------------------------
# Kept literal (``open_slots > 0``, ``state = 'active'``) so that both databases use the partial
# indexes ``clsreq_queue``, ``clsreq_head``, ``clsreq_user_tail`` and ``dispatchtoken_active``.

# The queued requests the caller (parameter 1) may take, in queue order:
# - a replicated request is never offered to an account that holds or answered a lease of it
#   (``q.replication > 1`` inside the subquery keeps PostgreSQL from turning it into a hash of
#   all the caller's tokens: it stays one probe of ``dispatchtoken_req_user`` per request);
# - an account whose agreement rate is below the threshold (parameters 2-4: its user id, the
#   minimum number of compared votes, the minimum rate) gets only requests with a quorum of at
#   least 2, where its vote alone decides nothing. An uncorrelated subquery: computed once.
# {filters} narrows the queue to some deployments; the last parameter is the limit.
QUEUE = """
SELECT q.id AS pick_id FROM inference_classificationrequest q
WHERE q.open_slots > 0
  AND (q.replication = 1 OR NOT EXISTS (
        SELECT 1 FROM inference_dispatchtoken t
        WHERE t.request_id = q.id AND t.user_id = %s AND t.state IN ('active', 'used')
          AND q.replication > 1))
  AND (q.quorum >= 2 OR (
        SELECT COALESCE(SUM(w.votes_compared), 0) < %s
            OR COALESCE(SUM(w.votes_agreed), 0) >= %s * COALESCE(SUM(w.votes_compared), 0)
        FROM inference_worker w WHERE w.owner_id = %s))
  {filters}
ORDER BY q.priority DESC, q.fair_key, q.id
LIMIT %s"""

# Takes one slot of each picked request (parameters: now, the lease's expiry).
_TAKE_SLOT = """
SET open_slots = open_slots - 1,
    active_leases = active_leases + 1,
    lease_count = lease_count + 1,
    attempts = attempts + 1,
    status = 'assigned',
    assigned_on = %s,
    lease_expires_at = %s"""
_RETURNING = (
    "RETURNING id, lease_count, replication, model_version_id, image_sha256, priority, fair_key"
)

# PostgreSQL: one statement. Rows other claims have locked are skipped, so concurrent claims
# neither wait for each other nor take the same slot twice.
_CLAIM_POSTGRES = (
    "WITH picked AS (" + QUEUE + "\nFOR UPDATE OF q SKIP LOCKED)\n"
    "UPDATE inference_classificationrequest"
    + _TAKE_SLOT
    + "\nFROM picked WHERE inference_classificationrequest.id = picked.pick_id\n"
    + _RETURNING
)

# SQLite: the same in one statement; the IMMEDIATE transaction already excludes other writers.
_CLAIM_SQLITE = (
    "UPDATE inference_classificationrequest"
    + _TAKE_SLOT
    + "\nWHERE id IN ("
    + QUEUE
    + ")\n"
    + _RETURNING
)
CLAIM = Twin(postgres=_CLAIM_POSTGRES, sqlite=_CLAIM_SQLITE)

# Is anything claimable? A plain read, so idle long-polls re-check without taking a write lock.
PEEK = "SELECT EXISTS (" + QUEUE + ")"

# The smallest fair key still queued, and the largest one of a submitter (see module doc).
QUEUE_HEAD = "SELECT MIN(fair_key) FROM inference_classificationrequest WHERE open_slots > 0"
USER_TAIL = (
    "SELECT MAX(fair_key) FROM inference_classificationrequest "
    "WHERE open_slots > 0 AND submitter_id = %s"
)

# Requests with leases past their expiry, oldest first.
EXPIRED_LEASES = (
    "SELECT DISTINCT request_id FROM ("
    "SELECT request_id FROM inference_dispatchtoken "
    "WHERE state = 'active' AND expires_at < %s ORDER BY expires_at LIMIT %s) AS expired"
)

# The ids of one parameter as a subquery, however many there are: a PostgreSQL bigint array, a
# JSON list on SQLite.
IDS = Twin(postgres="SELECT unnest(%s::bigint[])", sqlite="SELECT value FROM json_each(%s)")
