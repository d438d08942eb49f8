"""A dozen concurrent writers wait for each other instead of failing with "database is locked"."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from visionhub.accounts import services
from visionhub.accounts.models import ApiToken, User

WRITERS = 12
WRITES_EACH = 15


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_all_succeed() -> None:
    owner = services.create_user("concurrency-owner")
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS)

    def write(n: int) -> None:
        try:
            barrier.wait()
            for i in range(WRITES_EACH):
                # read-then-write in one transaction: the pattern that deadlocks SQLite's
                # default deferred transactions
                with transaction.atomic():
                    count = ApiToken.objects.filter(user=owner).count()
                    services.issue_token(owner, name=f"w{n}-{i}-{count}")
                services.create_user(f"writer-{n}-{i}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert ApiToken.objects.filter(user=owner).count() == WRITERS * WRITES_EACH
    assert User.objects.filter(username__startswith="writer-").count() == WRITERS * WRITES_EACH


def test_sqlite_runs_in_wal_mode_with_immediate_transactions(db: None) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite-specific pragmas")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
