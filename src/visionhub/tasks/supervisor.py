"""The task workers that ``visionhub serve`` runs beside the API, as child processes.

Each child is ``visionhub tasks worker --parent-pid <server>``: it exits by itself if the
server disappears. A child that exits while the server runs is started again (with a pause
growing to five minutes if it keeps exiting at once); stopping the server stops the children (SIGTERM, then
SIGKILL after the grace period, after which their task is recovered by the next worker).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

logger = logging.getLogger(__name__)

# A worker that keeps exiting at once (its database gone, say) is restarted ever more slowly,
# up to this many seconds apart, so that a broken set-up costs next to no CPU.
MAX_PAUSE = 300.0


class TaskWorkerSupervisor:
    def __init__(self, count: int) -> None:
        self.count = count
        self.children: list[subprocess.Popen[bytes] | None] = [None] * count
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="task-supervisor", daemon=True)
        self._owner = os.getpid()

    def start(self) -> None:
        with self._lock:
            for slot in range(self.count):
                self.children[slot] = self._spawn()
        self._thread.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        argv = [
            sys.executable,
            "-m",
            "visionhub",
            "tasks",
            "worker",
            "--parent-pid",
            str(os.getpid()),
        ]
        # Its own session: a Ctrl-C in the terminal reaches the server, which stops it in order.
        child = subprocess.Popen(argv, start_new_session=True)  # noqa: S603 - our own entry point
        logger.info("task worker started (pid %s)", child.pid)
        return child

    def _watch(self) -> None:
        pause = [1.0] * self.count
        started = [time.monotonic()] * self.count
        while not self._stopping.wait(0.5):
            for slot, child in enumerate(self.children):
                if child is None or child.poll() is None:
                    continue
                with self._lock:
                    if self._stopping.is_set():
                        return
                    logger.warning(
                        "task worker (pid %s) exited with %s; starting another",
                        child.pid,
                        child.returncode,
                    )
                    quick = time.monotonic() - started[slot] < 60
                    pause[slot] = min(pause[slot] * 2, MAX_PAUSE) if quick else 1.0
                    self.children[slot] = None
                if self._stopping.wait(pause[slot]):
                    return
                with self._lock:
                    if self._stopping.is_set():
                        return
                    self.children[slot] = self._spawn()
                    started[slot] = time.monotonic()

    def stop(self, grace: float = 10.0) -> None:
        """Stop every child: SIGTERM (finish the task in hand), SIGKILL after ``grace``."""
        if os.getpid() != self._owner:
            # A process forked from the server (a gunicorn worker) unwinding through the
            # server's ``finally``: the children are not its to stop.
            return
        with self._lock:
            self._stopping.set()
            children = [c for c in self.children if c is not None]
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + grace
        for child in children:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("task worker (pid %s) still busy; killed", child.pid)
                child.kill()
                child.wait()
