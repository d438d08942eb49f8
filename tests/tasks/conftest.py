from __future__ import annotations

from tests.tasks_support import run_tasks

__all__ = ["run_tasks"]
