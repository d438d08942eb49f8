"""``visionhub serve`` and ``visionhub migrate``."""

from __future__ import annotations

import errno
import gc
import signal
import threading
from typing import TYPE_CHECKING, Any

import click

from visionhub.cli.django_setup import run_migrations, setup_django

if TYPE_CHECKING:
    from visionhub.tasks.supervisor import TaskWorkerSupervisor


@click.command()
def migrate() -> None:
    """Create or update the database schema."""
    run_migrations()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", type=int, default=None, help="Processes (VISIONHUB_WEB_WORKERS).")
@click.option("--threads", type=int, default=None, help="Threads each (VISIONHUB_WEB_THREADS).")
def serve(host: str, port: int, workers: int | None, threads: int | None) -> None:
    """Run the API server (gunicorn, threaded workers) until interrupted."""
    setup_django()
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        # The embedded default is ready with no other step; PostgreSQL deployments migrate
        # explicitly so that several API servers never race on a schema change.
        run_migrations(verbosity=0)
    from gunicorn.app.base import BaseApplication

    from visionhub.wsgi import application

    class Server(BaseApplication):  # type: ignore[misc]
        def __init__(self, options: dict[str, Any]) -> None:
            self.options = options
            super().__init__()

        def load_config(self) -> None:
            for key, value in self.options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return application

    # Django, the API and their modules are loaded now and live as long as the process: keep
    # them out of the cyclic garbage collector's full passes (the workers fork from here and
    # inherit this). A full pass otherwise walks them all again every few thousand new
    # objects, which made decoding a batch of 10,000 annotations a third slower.
    gc.collect()
    gc.freeze()
    tasks = _start_task_workers(settings.SERVE_TASK_WORKERS)
    # Threads, not async: every long-poll (claim, ?wait=) holds one thread while it waits, and
    # releases its database connection between polls, so a few hundred can wait at once.
    try:
        _run(Server, host, port, workers, threads)
    finally:
        if tasks is not None:
            tasks.stop()


REQUEST_LINE_LIMIT = 8190


def _run(server: Any, host: str, port: int, workers: int | None, threads: int | None) -> None:
    from django.conf import settings

    server(
        {
            "bind": f"{host}:{port}",
            "workers": workers or settings.WEB_WORKERS,
            "worker_class": "gthread",
            "threads": threads or settings.WEB_THREADS,
            "timeout": 120,
            "graceful_timeout": 10,
            "keepalive": 30,
            # Deliberate request limits (docs/scaling.md): request lines and header fields up
            # to 8 KiB (gunicorn's ceiling; a long filter query fits), 100 header fields. What
            # breaks them gets gunicorn's own plain answer, before the API sees it.
            "limit_request_line": REQUEST_LINE_LIMIT,
            "limit_request_field_size": REQUEST_LINE_LIMIT,
            "limit_request_fields": 100,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": "visionhub",
            "post_worker_init": _end_long_polls_on_sigterm,
        }
    ).run()


def _start_task_workers(count: int) -> TaskWorkerSupervisor | None:
    """The background-task workers of the embedded default (none when count is 0)."""
    if not count:
        return None
    from visionhub.tasks.supervisor import TaskWorkerSupervisor

    supervisor = TaskWorkerSupervisor(count)
    supervisor.start()
    return supervisor


def _end_long_polls_on_sigterm(worker: Any) -> None:
    """gunicorn hook: a graceful stop (SIGTERM) first stops listening, then ends this process's
    long-polls at once, so they answer (with no work, or the request's current state) instead of
    holding the stop for up to their whole wait and then being cut off; the requests in flight
    are answered, then the process exits."""
    from visionhub.inference import notify

    graceful = worker.handle_exit

    def handle_exit(signum: int, frame: Any) -> None:
        # On the worker's own loop (the signal may interrupt it anywhere).
        worker.method_queue.defer(_stop_listening, worker)
        # Not from the handler itself: waking takes locks the interrupted code may hold.
        threading.Thread(target=notify.stop_waiting, name="stop-waiting", daemon=True).start()
        graceful(signum, frame)

    signal.signal(signal.SIGTERM, handle_exit)


def _stop_listening(worker: Any) -> None:
    """Take the connections already waiting in the listen backlog, then close the listening
    sockets. gunicorn only stops accepting and keeps its sockets open until the worker exits:
    meanwhile the kernel completed new clients' handshakes, and reset them at exit, so a load
    balancer saw a live server that dropped requests instead of a refused connection it
    retries elsewhere. Once every process has closed its copy, new connections are refused."""
    for listener in worker.sockets:
        while True:
            taken = worker.nr_conns
            worker.accept(listener)
            if worker.nr_conns == taken:
                break
    worker.set_accept_enabled(False)
    for listener in worker.sockets:
        # The poller may already have returned a read event of this listener in the batch
        # that ran this callback: that late accept must find "nothing waiting", not a socket
        # gunicorn's wrapper has set to None (an AttributeError that killed the process).
        real, listener.sock = listener.sock, _ClosedListener()
        real.close()


class _ClosedListener:
    """Stands in for a closed listening socket: accepting finds nothing waiting."""

    def accept(self) -> Any:
        raise BlockingIOError(errno.EAGAIN, "the listening socket is closed")

    def close(self) -> None:
        pass
