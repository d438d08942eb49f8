"""Replication K, quorum Q: votes of different accounts, agreement rates, untrusted workers."""

from __future__ import annotations

import pytest
from django.test import override_settings
from tests.inference.helpers import answer, claim, make_deployment, make_user, reload, submit

from visionhub.accounts.models import User
from visionhub.inference import queue, quorum
from visionhub.inference.models import ClassificationResult, Status, Worker


def vote(user: User, label: str, *, name: str = "w1") -> int:
    [job] = claim(user, name=name)
    [verdict] = queue.submit_results(user, [answer(job, label)])
    assert verdict.status == "accepted", verdict
    return job.request_id


def rate(user: User) -> tuple[int, int]:
    rows = Worker.objects.filter(owner=user).values_list("votes_compared", "votes_agreed")
    return sum(r[0] for r in rows), sum(r[1] for r in rows)


@pytest.fixture
def workers(db: None) -> list[User]:
    return [make_user(f"w{i}", worker=True) for i in range(5)]


def test_pure_decisions() -> None:
    assert quorum.winner(["a", "b", "a"], 2) == "a"
    assert quorum.winner(["a", "b"], 2) is None
    assert quorum.more_replicas(["a", "b"], quorum=2, outstanding=1, wanted=3, limit=5) == 0
    assert quorum.more_replicas(["a", "b", "c"], quorum=2, outstanding=0, wanted=3, limit=5) == 1
    assert (
        quorum.more_replicas(["a", "b", "c", "d", "e"], quorum=2, outstanding=0, wanted=5, limit=5)
        is None
    )
    assert quorum.max_replicas(1) == 1
    assert quorum.max_replicas(3) == 5


def test_a_label_is_accepted_once_the_quorum_agrees(workers: list[User]) -> None:
    owner = make_user("owner")
    [request] = submit(make_deployment(owner, replication=3, quorum=2), owner)

    vote(workers[0], "bright")
    assert reload(request.pk).status == Status.PENDING  # waiting for the next account
    [third] = claim(workers[2])
    vote(workers[1], "bright")

    done = reload(request.pk)
    assert (done.status, done.label) == (Status.COMPLETED, "bright")
    assert ClassificationResult.objects.filter(request=request, accepted=True).count() == 1
    assert claim(workers[3]) == []  # no more replicas are sent once a label is accepted
    # the replica still out may report: it is compared, and changes nothing
    [verdict] = queue.submit_results(workers[2], [answer(third, "dark")])
    assert verdict.status == "accepted"
    assert reload(request.pk).label == "bright"
    assert rate(workers[2]) == (1, 0)
    assert rate(workers[0]) == (1, 1)


def test_one_account_never_votes_twice_however_many_processes(workers: list[User]) -> None:
    owner = make_user("owner")
    [request] = submit(make_deployment(owner, replication=3, quorum=2), owner)

    [job] = claim(workers[0], name="process-1")
    assert claim(workers[0], name="process-2") == []
    queue.submit_results(workers[0], [answer(job, "bright")])
    assert claim(workers[0], name="process-3") == []

    assert [j.request_id for j in claim(workers[1])] == [request.pk]


def test_a_liar_changes_no_accepted_result_and_its_agreement_rate_drops(
    workers: list[User],
) -> None:
    owner = make_user("owner")
    deployment = make_deployment(owner, replication=3, quorum=2)
    requests = submit(deployment, owner, 6)
    honest, liar = workers[:2], workers[4]
    truth = {r.pk: ("bright" if i % 2 else "dark") for i, r in enumerate(requests)}
    lie = {"bright": "dark", "dark": "bright"}

    for _ in requests:  # the liar votes first every time
        [job] = claim(liar)
        queue.submit_results(liar, [answer(job, lie[truth[job.request_id]])])
    for user in honest:
        for job in claim(user, 10):
            queue.submit_results(user, [answer(job, truth[job.request_id])])

    for request in requests:
        done = reload(request.pk)
        assert (done.status, done.label) == (Status.COMPLETED, truth[request.pk])
    assert rate(liar) == (6, 0)
    assert rate(honest[0]) == (6, 6)


def test_disagreement_asks_one_more_account_then_fails_without_consensus(
    workers: list[User],
) -> None:
    owner = make_user("owner")
    [request] = submit(make_deployment(owner, replication=2, quorum=2, classes="abcd"), owner)

    vote(workers[0], "a")
    vote(workers[1], "b")
    assert (reload(request.pk).status, reload(request.pk).replicas_wanted) == (Status.PENDING, 3)
    vote(workers[2], "c")
    vote(workers[3], "d")
    assert reload(request.pk).replicas_wanted == 4

    failed = reload(request.pk)
    assert failed.status == Status.FAILED
    assert "no_consensus" in failed.errors[-1]["error"]
    assert claim(workers[4]) == []


def test_a_late_vote_after_disagreement_resolves_it(workers: list[User]) -> None:
    owner = make_user("owner")
    [request] = submit(make_deployment(owner, replication=2, quorum=2), owner)

    vote(workers[0], "dark")
    vote(workers[1], "bright")
    vote(workers[2], "bright")

    done = reload(request.pk)
    assert (done.status, done.label) == (Status.COMPLETED, "bright")
    assert rate(workers[0]) == (1, 0)


@override_settings(WORKER_MIN_AGREEMENT=0.5)
def test_an_account_below_the_agreement_threshold_gets_no_quorum_1_work(
    workers: list[User],
) -> None:
    owner = make_user("owner")
    liar = workers[0]
    single = make_deployment(owner)
    checked = make_deployment(owner, replication=3, quorum=2)
    Worker.objects.filter(pk=queue.register_worker(liar, name="w1").pk).update(
        votes_compared=quorum.MIN_VOTES, votes_agreed=1
    )
    [quorum_1] = submit(single, owner)
    [quorum_2] = submit(checked, owner)

    assert not queue.account_is_trusted(liar)
    assert [j.request_id for j in claim(liar, 10)] == [quorum_2.pk]
    assert [j.request_id for j in claim(workers[1], 10)] == [quorum_1.pk, quorum_2.pk]


def test_a_new_account_is_trusted_until_it_has_enough_votes(workers: list[User]) -> None:
    Worker.objects.filter(pk=queue.register_worker(workers[0]).pk).update(
        votes_compared=quorum.MIN_VOTES - 1, votes_agreed=0
    )

    assert queue.account_is_trusted(workers[0])
