"""``visionhub benchmark …`` through the real entry point: create, review, upload, query."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.benchmarks.conftest import DATA, c_ray_results
from tests.conftest import LiveServer, Person
from tests.helpers import unique

SCHEMA = Path(__file__).resolve().parents[2] / "src/visionhub/benchmarks/data/c-ray.schema.json"


def run(server: LiveServer, person: Person, *args: str, check: bool = True) -> str:
    result = server.cli(*args, env={"VISIONHUB_TOKEN": person.token}, check=check)
    return result.stdout if check else result.stdout + result.stderr


def test_a_user_submits_an_admin_approves_and_results_are_uploaded_and_queried(
    server: LiveServer, alice: Person, admin: Person
) -> None:
    image, site = unique("eosc/c-ray"), unique("ncg-ingrid-pt")
    out = run(server, alice, "benchmark", "create", f"{image}:1.2.0", "--schema", str(SCHEMA))
    assert f"{image}:1.2.0\ton_review" in out
    run(server, alice, "benchmark", "site", "create", site, "--address", "Lisbon, Portugal")
    run(server, alice, "benchmark", "flavor", "create", f"{site}/svc2.xxl")
    run(server, alice, "benchmark", "flavor", "create", f"{site}/svc1.s")

    pending = run(server, admin, "benchmark", "submits", "--status", "on_review")
    ours = [line.split("\t")[0] for line in pending.splitlines() if line]
    refused = run(server, alice, "benchmark", "approve", ours[0], check=False)
    assert "admin_only" in refused
    by_kind: dict[str, list[str]] = {}
    for line in pending.splitlines():
        submit_id, kind, _, _ = line.split("\t")
        by_kind.setdefault(kind, []).append(submit_id)
    # Sites before flavors: a flavor is approved only on an approved site.
    for kind in ("benchmark", "site", "flavor"):
        for submit_id in by_kind.get(kind, []):
            run(server, admin, "benchmark", "approve", submit_id)
    assert f"{image}:1.2.0\tapproved" in run(server, alice, "benchmark", "list")

    out = run(
        server,
        alice,
        "benchmark",
        "upload",
        str(DATA / "ncg-ingrid-pt-32.json"),
        "--benchmark",
        f"{image}:1.2.0",
        "--flavor",
        f"{site}/svc2.xxl",
        "--tag",
        "amd",
        "--tag",
        unique("epyc"),
        "--execution-datetime",
        "2021-03-20T10:00:00+00:00",
    )
    assert out.startswith(str(DATA / "ncg-ingrid-pt-32.json"))
    run(
        server,
        alice,
        "benchmark",
        "upload",
        str(DATA / "ncg-ingrid-pt-1.json"),
        "--benchmark",
        f"{image}:1.2.0",
        "--flavor",
        f"{site}/svc1.s",
    )
    table = run(
        server,
        alice,
        "benchmark",
        "results",
        "--benchmark",
        f"{image}:1.2.0",
        "--tag",
        "amd",
        "--csv",
        "--column",
        "result.score",
        "--column",
        "machine.cpu.flags.0",
    )
    rows = list(csv.DictReader(io.StringIO(table)))
    assert len(rows) == 1
    document = c_ray_results()["ncg-ingrid-pt-32"]
    assert rows[0]["result.score"] == json.dumps(document["result"]["score"])
    assert rows[0]["machine.cpu.flags.0"] == document["machine"]["cpu"]["flags"][0]
    assert rows[0]["flavor"] == "svc2.xxl"
    assert rows[0]["execution_datetime"].startswith("2021-03-20T10:00:00")
    both = run(server, alice, "benchmark", "results", "--site", site, "--csv")
    assert len(list(csv.DictReader(io.StringIO(both)))) == 2


def test_an_invalid_result_file_reports_every_violation(
    server: LiveServer, admin: Person, tmp_path: Path
) -> None:
    image, site = unique("eosc/c-ray"), unique("cesga")
    run(server, admin, "benchmark", "create", f"{image}:1", "--schema", str(SCHEMA))
    run(server, admin, "benchmark", "site", "create", site, "--address", "Santiago")
    run(server, admin, "benchmark", "flavor", "create", f"{site}/cor1mem2hd10")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"units": "Hours", "result": {"score": "fast"}}))
    out = run(
        server,
        admin,
        "benchmark",
        "upload",
        str(bad),
        "--benchmark",
        f"{image}:1",
        "--flavor",
        f"{site}/cor1mem2hd10",
        check=False,
    )
    assert "invalid_result" in out
    assert "$.units" in out and "$.result.score" in out


def test_unknown_names_and_bad_arguments_are_clear_errors(
    server: LiveServer, alice: Person, tmp_path: Path
) -> None:
    document = tmp_path / "r.json"
    document.write_text("{}")
    out = run(
        server,
        alice,
        "benchmark",
        "upload",
        str(document),
        "--benchmark",
        "no/such:1",
        "--flavor",
        "nowhere/none",
        check=False,
    )
    assert "benchmark_not_found" in out
    out = run(server, alice, "benchmark", "results", "--flavor", "no-slash", check=False)
    assert "SITE/FLAVOR" in out
    out = run(server, alice, "benchmark", "results", "--filter", "a >> 1", check=False)
    assert "invalid_filter" in out
    out = run(server, alice, "benchmark", "create", "no-tag", "--schema", str(SCHEMA), check=False)
    assert "IMAGE:TAG" in out
    out = run(server, alice, "benchmark", "tag", "create", unique("gpu"))
    assert "\t" in out
