"""Heartbeats keep a worker's leases while a batch takes longer than a lease (2 s here)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from tests.conftest import Person
from tests.helpers import unique
from tests.worker.live import Deployment, grey

pytestmark = pytest.mark.process

LEASE_SECONDS = 2
SIDE = 256


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"VISIONHUB_LEASE_SECONDS": str(LEASE_SECONDS)}


def slow_cnn(layers: int = 40, channels: int = 16) -> bytes:
    """A stack of 3x3 convolutions on 256x256 grey: a fraction of a second per image."""
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Conv", ["x", "w0"], ["h0"], pads=[1, 1, 1, 1])]
    nodes += [
        helper.make_node("Conv", [f"h{i}", "w"], [f"h{i + 1}"], pads=[1, 1, 1, 1])
        for i in range(layers)
    ]
    nodes += [
        helper.make_node("GlobalAveragePool", [f"h{layers}"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("MatMul", ["f", "wo"], ["logits"]),
    ]
    weights = {
        "w0": rng.standard_normal((channels, 1, 3, 3)) * 0.1,
        "w": rng.standard_normal((channels, channels, 3, 3)) * 0.05,
        "wo": np.ones((channels, 2)),
    }
    graph = helper.make_graph(
        nodes,
        "slow",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, SIDE, SIDE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 2])],
        initializer=[numpy_helper.from_array(w.astype(np.float32), n) for n, w in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


@pytest.fixture(scope="module")
def slow_deployment(alice: Person) -> Deployment:
    name = unique("slow")
    spec = {"width": SIDE, "height": SIDE, "channels": 1, "layout": "NCHW"}
    created = alice.http.post("/models", json={"name": name, "classes": ["a", "b"], "input": spec})
    assert created.status_code == 201, created.text
    pushed = alice.http.post(
        f"/models/{name}/versions",
        files={"files": ("model.onnx", slow_cnn(), "application/octet-stream")},
    )
    assert pushed.status_code == 201, pushed.text
    deployed = alice.http.post("/deployments", json={"name": name, "model": name, "version": 1})
    assert deployed.status_code == 201, deployed.text
    return Deployment(name, alice)


def test_leases_outlive_their_term_while_the_worker_is_busy(
    worker: Person, slow_deployment: Deployment, start_worker: Any
) -> None:
    # About twice the lease on a quiet machine, whatever the load: the batch must outlast it.
    ids = [slow_deployment.submit(grey(level)) for level in range(0, 240, 5)]
    process = start_worker(
        worker.token,
        "--deployment",
        slow_deployment.name,
        "--batch",
        str(len(ids)),
        "--max-jobs",
        str(len(ids)),
        "--threads",
        "1",
    )
    assert process.wait(timeout=120) == 0, process.log()
    log = process.log()
    took = float(re.findall(r"([\d.]+) s after its claim", log)[0])
    assert took > LEASE_SECONDS * 1.2, f"the batch was too quick to test anything:\n{log}"
    assert f"{len(ids)} accepted, 0 rejected" in log, log
    assert {slow_deployment.result(i)["status"] for i in ids} == {"completed"}
