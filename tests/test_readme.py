"""The README's tour works when pasted: every block marked ``<!-- tested -->`` is run here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.helpers import free_port

pytestmark = [pytest.mark.slow, pytest.mark.process, pytest.mark.embedded_default]

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"<!-- tested -->\s*\n```(?:sh|bash)\n(.*?)\n```", re.DOTALL)


def readme_blocks() -> list[str]:
    return BLOCK.findall((ROOT / "README.md").read_text())


def test_the_readme_has_a_tested_tour() -> None:
    blocks = readme_blocks()
    assert len(blocks) >= 5
    commands = "\n".join(blocks)
    for verb in (
        "serve",
        "user create",
        "token create",
        "dataset import",
        "model push",
        "deploy",
        "worker",
        "classify",
        "evaluate",
        "predict",
    ):
        assert f"visionhub {verb}" in commands


def test_the_tour_runs(tmp_path: Path) -> None:
    port = str(free_port())
    script = "\n".join(readme_blocks()).replace("8765", port)
    # The tour activates .venv; in CI the suite may run from another environment.
    script = script.replace("source .venv/bin/activate", "true")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("VISIONHUB_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert '"username": "alice"' in result.stdout or "alice" in result.stdout
    labels = {
        fields[0]: fields[1]
        for fields in (line.split() for line in result.stdout.splitlines())
        if len(fields) > 1
    }
    assert labels["tour-images/dark/dark-0.png"] == "dark", output
    assert labels["tour-images/bright/bright-9.png"] == "bright", output
    assert "shades 20 images" in result.stdout
    assert "accuracy: 0.950" in result.stdout  # the rule gets dark-9.png wrong
    assert "20 done, 0 failed, 0 cancelled, 0 pending, 0 skipped; 10 annotations" in result.stdout


def test_the_shared_real_data_is_there() -> None:
    from tests.helpers import SHARED_DATA, XRAYS_DIR

    assert len(list(XRAYS_DIR.glob("*"))) == 4, f"missing {XRAYS_DIR}"
    assert (SHARED_DATA / "eosc-perf-c-ray").is_dir()
