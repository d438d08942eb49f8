"""End to end: a real server and real ``visionhub worker`` processes, killed and restarted.

The model is the brightness classifier of ``tests.factories``; the images are 8x8 grayscale
PNGs whose brightness the test chooses, so every true answer is known. Leases are short (3 s)
so that a killed worker's requests come back quickly.
"""

from __future__ import annotations

import io
import random
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.db.models import Count
from PIL import Image as PILImage
from tests.conftest import LiveServer, Person, PersonFactory
from tests.helpers import unique, wait_until
from tests.inference.helpers import deploy, gray_png, true_label

pytestmark = [pytest.mark.slow, pytest.mark.process]

LEASE_SECONDS = 3
Committed = Callable[[], AbstractContextManager[None]]


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"VISIONHUB_LEASE_SECONDS": str(LEASE_SECONDS)}


@dataclass
class WorkerProcess:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


StartWorker = Callable[..., WorkerProcess]


@pytest.fixture
def start_worker(server: LiveServer, tmp_path: Path) -> Iterator[StartWorker]:
    """Start ``visionhub worker`` processes; all are stopped when the test ends."""
    started: list[WorkerProcess] = []
    cache = tmp_path / "worker-cache"

    def start(person: Person, deployment: str, name: str | None = None) -> WorkerProcess:
        name = name or unique("worker")
        log = tmp_path / f"{name}.log"
        command = [
            sys.executable,
            "-m",
            "visionhub",
            "worker",
            "--server",
            server.url,
            "--token",
            person.token,
            "--deployment",
            deployment,
            "--name",
            name,
            "--cache-dir",
            str(cache),
            "--batch",
            "16",
            "--concurrency",
            "2",
            "--threads",
            "1",
            "--claim-wait",
            "2",
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, env=server.env, stdout=out, stderr=subprocess.STDOUT
            )
        started.append(WorkerProcess(name, process, log))
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


def dataset_of(committed: Committed, person: Person, images: list[bytes]) -> list[int]:
    """A dataset of ``person`` holding ``images`` (made in-process, committed); image ids."""
    from visionhub.accounts.models import User
    from visionhub.datasets.services.datasets import create_dataset
    from visionhub.datasets.services.images import add_image

    ids: list[int] = []
    with committed():
        dataset = create_dataset(User.objects.get(pk=person.user_id), unique("ds"))
        for i, content in enumerate(images):
            image, _ = add_image(dataset, io.BytesIO(content), filename=f"{i}.png")
            ids.append(image.pk)
    return ids


def random_images(n: int, seed: int) -> list[bytes]:
    """``n`` distinct images, clearly dark or clearly bright."""
    rng = random.Random(seed)
    levels = [rng.choice([rng.randint(0, 100), rng.randint(155, 255)]) for _ in range(n)]
    return [gray_png(level, marker=seed * 10_000 + i) for i, level in enumerate(levels)]


def submit_batch(person: Person, deployment: str, image_ids: list[int]) -> list[int]:
    response = person.http.post(
        "/classifications/batch", json={"deployment": deployment, "image_ids": image_ids}
    )
    assert response.status_code == 202, response.text
    ids: list[int] = response.json()["ids"]
    return ids


def counts(person: Person, deployment: str) -> dict[str, int]:
    stats: dict[str, Any] = person.http.get(f"/deployments/{deployment}/stats").json()
    result: dict[str, int] = stats["counts"]
    return result


def requests_of(person: Person, deployment: str) -> dict[int, dict[str, Any]]:
    items = person.client.iterate("/classifications", {"deployment": deployment})
    return {item["id"]: item for item in items}


def accepted_results(committed: Committed, ids: list[int]) -> dict[int, int]:
    from visionhub.inference.models import ClassificationResult

    with committed():
        rows = (
            ClassificationResult.objects.filter(request_id__in=ids, accepted=True)
            .values_list("request_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        return dict(rows)


def wait_for_all(person: Person, deployment: str, total: int, workers: list[WorkerProcess]) -> None:
    def done() -> bool:
        for worker in workers:
            if worker.process.poll() not in (None, -signal.SIGKILL):
                raise AssertionError(f"{worker.name} exited:\n{worker.output()}")
        c = counts(person, deployment)
        return c["completed"] + c["failed"] == total

    try:
        wait_until(done, timeout=180, interval=0.25)
    except AssertionError:
        logs = "\n".join(f"--- {w.name}\n{w.output()[-3000:]}" for w in workers)
        raise AssertionError(f"not all done: {counts(person, deployment)}\n{logs}") from None


def check_answers(
    person: Person, deployment: str, ids: list[int], images: list[bytes], committed: Committed
) -> list[dict[str, Any]]:
    """Every request completed, with exactly one accepted result and the model's true label."""
    found = requests_of(person, deployment)
    answers = [found[request_id] for request_id in ids]
    assert [a["status"] for a in answers] == ["completed"] * len(ids)
    assert [a["result"]["label"] for a in answers] == [true_label(png) for png in images]
    assert accepted_results(committed, ids) == dict.fromkeys(ids, 1)
    return answers


def test_500_requests_with_3_workers_one_killed_midway(
    alice: Person, worker: Person, start_worker: StartWorker, committed: Committed
) -> None:
    deployment = deploy(alice)
    images = random_images(500, seed=1)
    ids = submit_batch(alice, deployment, dataset_of(committed, alice, images))
    workers = [start_worker(worker, deployment, f"w{i}-{unique('p')}") for i in range(3)]

    wait_until(lambda: counts(alice, deployment)["completed"] >= 100, timeout=120)
    workers[0].kill()
    wait_for_all(alice, deployment, len(ids), workers)

    answers = check_answers(alice, deployment, ids, images, committed)
    retried = [a for a in answers if a["attempts"] > 1]
    print(f"{len(retried)} requests were handed on after the kill")
    assert all(a["errors"][0]["error"] == "lease expired" for a in retried)


def test_a_server_restart_loses_nothing_and_workers_carry_on(
    server: LiveServer,
    alice: Person,
    worker: Person,
    start_worker: StartWorker,
    committed: Committed,
) -> None:
    deployment = deploy(alice)
    images = random_images(300, seed=2)
    ids = submit_batch(alice, deployment, dataset_of(committed, alice, images))
    workers = [start_worker(worker, deployment) for _ in range(2)]

    wait_until(lambda: counts(alice, deployment)["completed"] >= 50, timeout=120)
    server.restart()
    wait_for_all(alice, deployment, len(ids), workers)

    check_answers(alice, deployment, ids, images, committed)
    assert all(w.process.poll() is None for w in workers)


def test_forged_reused_other_and_late_tokens_are_rejected_beside_a_real_worker(
    alice: Person,
    worker: Person,
    make_person: PersonFactory,
    start_worker: StartWorker,
    committed: Committed,
) -> None:
    deployment = deploy(alice)
    thief = make_person("thief", worker=True)
    images = random_images(2, seed=3)
    ids = submit_batch(alice, deployment, dataset_of(committed, alice, images))
    # The test holds both leases like a worker that then hangs.
    jobs = worker.http.post("/worker/claim", json={"max": 2, "deployments": [deployment]}).json()[
        "jobs"
    ]
    assert sorted(j["request_id"] for j in jobs) == sorted(ids)
    stolen = {"request_id": jobs[0]["request_id"], "dispatch_token": jobs[0]["dispatch_token"]}

    def send(person: Person, item: dict[str, Any]) -> tuple[str, str | None]:
        verdict = person.http.post("/worker/results", json={"results": [item]}).json()
        return verdict["results"][0]["status"], verdict["results"][0]["reason"]

    assert send(worker, {**stolen, "dispatch_token": "vhd_forged", "label": "dark"}) == (
        "rejected",
        "invalid_token",
    )
    assert send(thief, {**stolen, "label": "dark"}) == ("rejected", "invalid_token")
    truth = {request_id: true_label(png) for request_id, png in zip(ids, images, strict=True)}
    assert send(worker, {**stolen, "label": truth[stolen["request_id"]]}) == ("accepted", None)
    assert send(worker, {**stolen, "label": "bright"}) == ("rejected", "already_submitted")

    # The second lease runs out; a real worker process takes the request over.
    real = start_worker(worker, deployment)
    wait_for_all(alice, deployment, 2, [real])
    late = {"request_id": jobs[1]["request_id"], "dispatch_token": jobs[1]["dispatch_token"]}
    wrong = "dark" if truth[late["request_id"]] == "bright" else "bright"
    assert send(worker, {**late, "label": wrong}) == ("rejected", "lease_lost")

    check_answers(alice, deployment, ids, images, committed)


def test_with_replication_3_quorum_2_a_lying_worker_changes_no_result(
    alice: Person,
    make_person: PersonFactory,
    start_worker: StartWorker,
    committed: Committed,
) -> None:
    deployment = deploy(alice, replication=3, quorum=2)
    single = deploy(alice)
    honest = [make_person("honest", worker=True) for _ in range(2)]
    liar = make_person("liar", worker=True)
    images = random_images(30, seed=4)
    ids = submit_batch(alice, deployment, dataset_of(committed, alice, images))

    # The liar claims every request first and answers each with the wrong label.
    jobs = liar.http.post(
        "/worker/claim",
        json={"max": 64, "deployments": [deployment], "worker": {"name": "liar-1"}},
    ).json()["jobs"]
    assert len(jobs) == len(ids)
    lie = {"dark": "bright", "bright": "dark"}
    truth = {request_id: true_label(png) for request_id, png in zip(ids, images, strict=True)}
    results = [
        {
            "request_id": j["request_id"],
            "dispatch_token": j["dispatch_token"],
            "label": lie[truth[j["request_id"]]],
        }
        for j in jobs
    ]
    verdicts = liar.http.post("/worker/results", json={"results": results}).json()["results"]
    assert {v["status"] for v in verdicts} == {"accepted"}  # votes, not yet decisions
    workers = [start_worker(person, deployment) for person in honest]
    wait_for_all(alice, deployment, len(ids), workers)

    check_answers(alice, deployment, ids, images, committed)
    stats = alice.http.get(f"/deployments/{deployment}/stats").json()
    rates = {w["owner"]: w["agreement_rate"] for w in stats["live_workers"]}
    assert rates[liar.username] == 0.0
    assert all(rates[p.username] == 1.0 for p in honest)
    # Below the agreement threshold, the liar is no longer given work a single vote decides.
    [request_id] = submit_batch(alice, single, dataset_of(committed, alice, random_images(1, 5)))
    claimed = liar.http.post("/worker/claim", json={"max": 1, "deployments": [single]}).json()
    assert claimed["jobs"] == []
    alice.http.post(f"/classifications/{request_id}/cancel")


def truncated_jpeg() -> bytes:
    """A JPEG cut in half: its header reads (the server accepts it), its pixels do not decode."""
    pixels = np.random.default_rng(7).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels, "RGB").save(buffer, format="JPEG", quality=90)
    whole = buffer.getvalue()
    return whole[: len(whole) // 2]


def test_an_undecodable_image_fails_after_max_attempts_with_the_errors_listed(
    alice: Person, worker: Person, start_worker: StartWorker
) -> None:
    deployment = deploy(alice)
    files = {"file": ("broken.jpg", truncated_jpeg(), "image/jpeg")}
    response = alice.http.post("/classifications", data={"deployment": deployment}, files=files)
    assert response.status_code == 202, response.text
    request_id = response.json()["id"]
    real = start_worker(worker, deployment)

    body = alice.http.get(f"/classifications/{request_id}", params={"wait": 60}).json()

    assert body["status"] == "failed", (body, real.output()[-3000:])
    assert body["result"] is None
    assert body["attempts"] == 3
    assert len(body["errors"]) == 3
    assert all(e["error"] and e["worker"] == real.name for e in body["errors"])
    assert [e["attempt"] for e in body["errors"]] == [1, 2, 3]


def test_sigterm_lets_a_worker_finish_or_give_back_its_jobs(
    alice: Person, worker: Person, start_worker: StartWorker, committed: Committed
) -> None:
    deployment = deploy(alice)
    images = random_images(200, seed=6)
    ids = submit_batch(alice, deployment, dataset_of(committed, alice, images))
    first = start_worker(worker, deployment)
    wait_until(lambda: counts(alice, deployment)["completed"] >= 20, timeout=120)

    assert first.stop(timeout=90) == 0, first.output()[-3000:]
    assert counts(alice, deployment)["assigned"] == 0  # nothing is left leased to it
    second = start_worker(worker, deployment)
    wait_for_all(alice, deployment, len(ids), [second])

    answers = check_answers(alice, deployment, ids, images, committed)
    assert all(not a["errors"] for a in answers)  # no lease had to expire
