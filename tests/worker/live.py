"""Live-server helpers of the worker tests: a deployment of the brightness model, worker
processes with their logs."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import Person
from tests.factories import make_image

SIZE = 16


@dataclass
class Deployment:
    name: str
    owner: Person

    def submit(self, data: bytes) -> int:
        response = self.owner.http.post(
            "/classifications",
            data={"deployment": self.name},
            files={"file": ("image.png", data, "application/octet-stream")},
        )
        assert response.status_code == 202, response.text
        return int(response.json()["id"])

    def result(self, request_id: int, wait: float = 0) -> dict[str, Any]:
        response = self.owner.http.get(f"/classifications/{request_id}", params={"wait": wait})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def grey(level: int) -> bytes:
    return make_image(24, 20, color=(level, level, level))


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait(self, timeout: float = 60) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"worker still running after {timeout} s:\n{self.log()}") from None
