"""``visionhub worker`` as a real process against a real server: what the worker itself promises.

(The acceptance tests of the queue with several workers, SIGKILL and quorum live with the
inference tests; these check the worker's own behaviour: answers, errors, exit codes, signals.)
"""

from __future__ import annotations

import json
import math
import re
import signal
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import LiveServer, Person
from tests.factories import make_noise_image
from tests.helpers import unique, wait_until
from tests.worker.live import Deployment, grey

pytestmark = pytest.mark.process


def test_a_worker_classifies_its_jobs_in_batches_and_exits_0_after_max_jobs(
    worker: Person, deployment: Deployment, start_worker: Any
) -> None:
    levels = [0, 250, 30, 200, 90, 160, 10, 240, 120, 140, 60, 220]
    ids = [deployment.submit(grey(level)) for level in levels]
    process = start_worker(
        worker.token, "--deployment", deployment.name, "--max-jobs", str(len(ids)), "--batch", "5"
    )
    assert process.wait() == 0, process.log()
    results = [deployment.result(i) for i in ids]
    assert [r["status"] for r in results] == ["completed"] * len(ids)
    assert [r["result"]["label"] for r in results] == [
        "bright" if level > 127 else "dark" for level in levels
    ]
    scores = results[1]["result"]["scores"]
    assert set(scores) == {"dark", "bright"}
    assert scores["bright"] == pytest.approx(1 / (1 + math.exp(-8 * (250 / 255 - 0.5))), abs=1e-3)
    assert process.log().count("batch of") >= 3  # one line per batch, on stderr


def test_a_busy_worker_sends_the_results_of_consecutive_batches_in_one_call(
    worker: Person, deployment: Deployment, start_worker: Any
) -> None:
    ids = [deployment.submit(grey(level)) for level in range(0, 240, 10)]  # 24, queued first
    process = start_worker(
        worker.token, "--deployment", deployment.name, "--max-jobs", str(len(ids)), "--batch", "4"
    )
    assert process.wait() == 0, process.log()

    sent = [int(n) for n in re.findall(r"results of (\d+) jobs sent: \1 accepted", process.log())]
    assert sum(sent) == len(ids), process.log()
    # Six batches of 4: with work in hand, a batch's results wait for the next batch's.
    assert len(sent) < 6 and max(sent) >= 8, sent
    assert {deployment.result(i)["status"] for i in ids} == {"completed"}


def test_an_idle_worker_sends_a_lone_result_without_waiting_for_more(
    worker: Person, deployment: Deployment, start_worker: Any
) -> None:
    process = start_worker(worker.token, "--deployment", deployment.name, "--max-jobs", "1")
    wait_until(lambda: "worker " in process.log(), timeout=30)

    request = deployment.submit(grey(250))

    assert deployment.result(request, wait=30)["status"] == "completed"
    assert process.wait() == 0, process.log()
    assert "results of 1 jobs sent: 1 accepted, 0 rejected" in process.log()


def truncated_jpeg() -> bytes:
    data = make_noise_image(64, 64, format="JPEG")
    return data[: len(data) // 2]


def test_an_image_that_cannot_be_decoded_is_that_requests_error_not_a_crash(
    worker: Person, deployment: Deployment, start_worker: Any
) -> None:
    bad = deployment.submit(truncated_jpeg())
    good = deployment.submit(grey(255))
    process = start_worker(worker.token, "--deployment", deployment.name, "--max-jobs", "2")
    assert process.wait() == 0, process.log()
    assert deployment.result(good)["result"]["label"] == "bright"
    errors = deployment.result(bad)["errors"]
    assert errors and "invalid_image" in errors[0]["error"]


def test_a_rejected_token_is_fatal_with_a_clear_message(
    start_worker: Any, deployment: Deployment
) -> None:
    process = start_worker("vh_not-a-real-token", "--deployment", deployment.name)
    assert process.wait(timeout=30) == 1
    assert "rejected the token" in process.log()


def test_a_user_without_the_worker_permission_is_told_so(
    alice: Person, deployment: Deployment, start_worker: Any
) -> None:
    process = start_worker(alice.token, "--deployment", deployment.name)
    assert process.wait(timeout=30) == 1
    assert "worker permission" in process.log()


def test_sigterm_stops_an_idle_worker_at_once_even_in_a_long_poll(
    worker: Person, deployment: Deployment, start_worker: Any
) -> None:
    process = start_worker(worker.token, "--deployment", deployment.name, "--claim-wait", "30")
    wait_until(lambda: "worker " in process.log(), timeout=30)
    process.process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0, process.log()  # well before the 30 s poll ends
    assert "stopped" in process.log()


@pytest.mark.parametrize("signals", [1, 2])
def test_sigterm_while_busy_leaves_no_request_held(
    worker: Person, deployment: Deployment, start_worker: Any, signals: int
) -> None:
    """One signal finishes the jobs held, a second gives them back; either way the worker exits
    0 and no request stays assigned to it (nothing waits for a lease to expire)."""
    ids = [deployment.submit(make_noise_image(400, 300, seed=i, format="JPEG")) for i in range(20)]
    process = start_worker(worker.token, "--deployment", deployment.name, "--batch", "2")
    wait_until(lambda: "batch of" in process.log(), timeout=30)
    process.process.send_signal(signal.SIGTERM)
    if signals == 2:
        # Signals sent back to back merge into one: the second must follow the first's effect.
        wait_until(lambda: "stopping" in process.log() or process.process.poll() is not None)
        process.process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, process.log()
    statuses = [deployment.result(i)["status"] for i in ids]
    assert "assigned" not in statuses, process.log()
    assert set(statuses) <= {"completed", "pending"}


def test_a_worker_carries_on_across_a_server_restart(
    server: LiveServer, worker: Person, deployment: Deployment, start_worker: Any
) -> None:
    first = [deployment.submit(grey(level)) for level in (0, 255, 20)]
    # A short long-poll: the server's graceful stop waits for the polls in flight.
    process = start_worker(
        worker.token, "--deployment", deployment.name, "--max-jobs", "6", "--claim-wait", "1"
    )
    wait_until(lambda: all(deployment.result(i)["status"] == "completed" for i in first))
    server.restart()
    second = [deployment.submit(grey(level)) for level in (250, 5, 230)]
    assert process.wait() == 0, process.log()
    labels = [deployment.result(i)["result"]["label"] for i in first + second]
    assert labels == ["dark", "bright", "dark", "bright", "dark", "bright"]
    assert "retrying" in process.log()


def test_the_cli_classify_verb_prints_label_and_scores(
    server: LiveServer,
    alice: Person,
    worker: Person,
    deployment: Deployment,
    start_worker: Any,
    tmp_path: Path,
) -> None:
    image = tmp_path / "bright.png"
    image.write_bytes(grey(240))
    process = start_worker(worker.token, "--deployment", deployment.name, "--max-jobs", "1")
    out = server.cli(
        "classify",
        "--deployment",
        deployment.name,
        str(image),
        "--wait",
        env={"VISIONHUB_TOKEN": alice.token},
    ).stdout
    assert process.wait() == 0
    path, label, scores = out.strip().split("\t")
    assert (path, label) == (str(image), "bright")
    assert scores.startswith("bright=0.9")


def test_bench_measures_the_deployments_model_and_uploads_the_result(
    server: LiveServer, admin: Person, deployment: Deployment, tmp_path: Path
) -> None:
    site, flavor = unique("site"), unique("flavor")
    done = server.cli(
        "worker",
        "--cache-dir",
        str(tmp_path / "cache"),
        "bench",
        "--deployment",
        deployment.name,
        "--images",
        "6",
        "--batch",
        "4",
        "--site",
        site,
        "--flavor",
        flavor,
        "--tag",
        "ci",
        env={"VISIONHUB_TOKEN": admin.token},
    )
    assert "images/s" in done.stdout
    assert "uploaded as benchmark result" in done.stdout, done.stdout + done.stderr


def test_bench_prints_the_json_when_not_uploading(
    server: LiveServer, alice: Person, deployment: Deployment, tmp_path: Path
) -> None:
    done = server.cli(
        "worker",
        "bench",
        "--deployment",
        deployment.name,
        "--images",
        "3",
        "--no-upload",
        env={"VISIONHUB_TOKEN": alice.token},
    )
    result = json.loads(done.stdout[done.stdout.index("{") :])
    assert result["deployment"] == deployment.name
    assert result["version"] == 1
    assert result["images"] == 3
    assert result["images_per_second"] > 0
    assert set(result["latency_ms"]) >= {"p50", "p90", "p99"}
    assert result["machine"]["cpu"]["count"] >= 1


def test_a_released_lease_goes_back_to_the_queue_at_once(
    worker: Person, deployment: Deployment
) -> None:
    request_id = deployment.submit(grey(100))
    claimed = worker.client.claim(1, 0, [deployment.name], {"name": "test"})
    (job,) = claimed["jobs"]
    assert job["request_id"] == request_id
    assert deployment.result(request_id)["status"] == "assigned"
    lease = {"request_id": job["request_id"], "dispatch_token": job["dispatch_token"]}
    worker.client.release([lease])
    assert deployment.result(request_id)["status"] == "pending"
    again = worker.client.claim(1, 0, [deployment.name])["jobs"]  # by any worker, at once
    assert [j["request_id"] for j in again] == [request_id]
    verdicts = worker.client.submit_results([lease | {"label": "dark", "scores": {}}])
    assert verdicts["results"][0]["status"] == "rejected"  # the released token is spent
    worker.client.release(
        [{"request_id": request_id, "dispatch_token": again[0]["dispatch_token"]}]
    )
