"""``visionhub model …`` end to end: the real command against the real server."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import LiveServer, Person
from tests.helpers import unique


def test_create_push_list_pull_lineage_and_delete(
    server: LiveServer, alice: Person, tmp_path: Path
) -> None:
    env = {"VISIONHUB_TOKEN": alice.token}
    name = unique("cli-model")
    server.cli(
        "model",
        "create",
        name,
        "--classes",
        "normal,pneumonia",
        "--input-width",
        "28",
        "--input-height",
        "28",
        "--channels",
        "1",
        "--layout",
        "flat",
        "--mean",
        "0.5",
        "--std",
        "0.25",
        "--output",
        "probabilities",
        "--file",
        "model.onnx:50",
        "--file",
        "labels.txt::optional",
        env=env,
    )
    definition = alice.client.get_model(name)
    assert definition["classes"] == ["normal", "pneumonia"]
    assert definition["input"]["mean"] == [0.5]
    assert definition["input"]["output"] == "probabilities"
    assert definition["files"][0]["max_mb"] == 50
    assert definition["files"][1]["required"] is False

    weights = tmp_path / "exported.onnx"
    weights.write_bytes(b"onnx bytes" * 100)
    labels = tmp_path / "labels.txt"
    labels.write_text("normal\npneumonia\n")
    out = server.cli(
        "model",
        "push",
        name,
        f"model.onnx={weights}",
        str(labels),
        "--details",
        '{"accuracy": 0.9}',
        "--name",
        "first",
        env=env,
    )
    assert out.stdout.strip().splitlines()[-1] == f"pushed {name}:1"
    server.cli(
        "model", "push", name, f"model.onnx={weights}", "--pretrained", f"{name}:first", env=env
    )

    listed = server.cli("model", "list", env=env).stdout
    assert any(
        line.startswith(f"{name}\t{alice.username}\tclassification\t2\t")
        for line in listed.splitlines()
    )
    assert server.cli("model", "versions", name, env=env).stdout.splitlines()[0].startswith("2\t")

    pulled = tmp_path / "pulled"
    server.cli("model", "pull", f"{name}:1", "--out", str(pulled), env=env)
    assert (pulled / "model.onnx").read_bytes() == weights.read_bytes()
    assert (pulled / "labels.txt").read_text() == "normal\npneumonia\n"

    lineage = server.cli("model", "lineage", f"{name}:2", env=env).stdout.splitlines()
    assert lineage[0].startswith(f"{name}:2")
    assert lineage[1].strip().startswith(f"{name}:1")

    refused = server.cli("model", "push", name, str(labels), env=env, check=False)
    assert refused.returncode == 1
    assert "missing_file" in refused.stderr

    server.cli("model", "delete", f"{name}:1", "--yes", env=env)
    assert [v["version"] for v in alice.client.list_versions(name)] == [2]
    server.cli("model", "delete", name, "--yes", env=env)
    gone = server.cli("model", "pull", f"{name}:2", "--out", str(pulled), env=env, check=False)
    assert gone.returncode == 1
    assert "model_not_found" in gone.stderr


def test_create_from_a_spec_file(server: LiveServer, alice: Person, tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "classes": ["a", "b", "c"],
                "input": {"width": 4, "height": 4, "channels": 3, "layout": "NHWC"},
                "files": [{"name": "net.onnx", "max_mb": 1}],
                "description": "from a file",
            }
        )
    )
    name = unique("spec-model")
    server.cli(
        "model",
        "create",
        name,
        "--spec",
        str(spec),
        "--input-width",
        "8",
        env={"VISIONHUB_TOKEN": alice.token},
    )
    created = alice.client.get_model(name)
    assert (created["input"]["width"], created["input"]["height"]) == (8, 4)
    assert created["input"]["layout"] == "NHWC"
    assert created["description"] == "from a file"
    assert [f["name"] for f in created["files"]] == ["net.onnx"]


def test_client_verbs_without_a_token_fail_cleanly(server: LiveServer) -> None:
    result = server.cli("model", "list", check=False, env={"VISIONHUB_TOKEN": ""})
    assert result.returncode != 0
    assert "no token" in result.stderr
