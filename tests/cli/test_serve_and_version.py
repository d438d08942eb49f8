"""`visionhub --version`, and `visionhub serve` on a fresh machine with no other step."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.conftest import start_server

from visionhub import __version__

pytestmark = pytest.mark.process


def test_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "visionhub", "--version"], capture_output=True, text=True, check=True
    )
    assert __version__ in result.stdout


@pytest.mark.embedded_default
def test_serve_works_in_an_empty_home(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("VISIONHUB_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env["VISIONHUB_HOME"] = str(home)
    server = start_server(env, tmp_path)
    try:
        health = httpx.get(f"{server.api}/health")
        assert health.json()["status"] == "ok"
        assert (home / "visionhub.sqlite3").exists()
        assert (home / "secret_key").exists()
        server.cli("user", "create", "first")
        token = server.cli("token", "create", "first").stdout.strip().splitlines()[-1]
        me = httpx.get(f"{server.api}/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["username"] == "first"
    finally:
        server.stop()
