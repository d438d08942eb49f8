"""The worker loop: claim → download and decode → run → submit, with heartbeats while busy.

Threads:

- the main thread runs the model, batch after batch; while it runs batch k, batches k + 1 and
  k + 2 are already being downloaded and decoded (``prefetch``). A claimer thread claims those
  ahead (without waiting, two batches per call), so the model never waits for a claim's round
  trip; only with nothing in hand does the main thread long-poll for work itself (a signal cuts
  that wait short);
- a pool of ``concurrency`` threads downloads (through the on-disk cache) and preprocesses
  images, and fetches model files;
- a submitter thread sends results in batches, so the main thread never waits for the server
  (while more batches are in hand, a batch's results wait up to 0.25 s to share the call of the
  next batch's; an idle worker sends at once);
- a heartbeat thread extends the leases the worker holds, every lease / 3;
- a signal watcher (only when running in the main thread) turns SIGTERM/SIGINT into the stop
  event: the worker claims nothing more, finishes what it holds and exits 0; a second signal
  abandons the rest (those leases are released, or simply expire) and exits 0 too.

Every call to the server retries connection errors and 5xx answers with exponential backoff and
jitter, so a server restart only pauses the worker. A 401 (or a 403 on claim) is fatal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import queue
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from visionhub import __version__
from visionhub.client.base import ClientError
from visionhub.client.inference import InferenceClient
from visionhub.client.retry import WORKER_POLICY, RetryInterrupted
from visionhub.worker.cache import IntegrityError, WorkerCache
from visionhub.worker.decode import DEFAULT_MAX_PIXELS, DecodeError, FloatArray, Geometry, prepare
from visionhub.worker.fetch import Fetcher
from visionhub.worker.protocol import (
    Failure,
    Job,
    Lease,
    ModelMemo,
    ModelRef,
    ProtocolError,
    Result,
    Verdicts,
    WorkerInfo,
    parse_verdicts,
)
from visionhub.worker.runtime import ModelError, Runtime
from visionhub.worker.runtimes import RuntimeCache

log = logging.getLogger("visionhub.worker")

T = TypeVar("T")

DEFAULT_LEASE_SECONDS = 60.0
_RESULTS_PER_REQUEST = 500
# Batches claimed per call by the claimer thread (the main thread's idle long-poll claims one).
_CLAIM_BATCHES = 2
# While more batches are in hand, the results of one wait this long for the next batch's, so
# that one call carries both; an idle worker sends at once.
_RESULTS_LINGER = 0.25
_LEASES_PER_REQUEST = 500


# One image's input tensor, and how its pixels map back to the original (for boxes).
Prepared = tuple[FloatArray, Geometry]


class Fatal(Exception):
    """The worker cannot go on (bad token, no permission, bad options): exit 1 with this."""


class _Interrupted(BaseException):
    """Raised by the signal handler to cut short an idle long-poll (nothing is held then)."""


class _Abandoned(Exception):
    """The worker is stopping and gives this job back instead of finishing it."""


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    deployments: tuple[str, ...] = ()
    concurrency: int = 4
    batch: int = 16
    max_jobs: int | None = None
    claim_wait: float = 5.0
    name: str | None = None  # default: host-pid
    site: str | None = None
    flavor: str | None = None
    intra_op_threads: int = 0
    max_image_bytes: int = 100 * 1024 * 1024
    max_pixels: int = DEFAULT_MAX_PIXELS
    stop_timeout: float = 30.0
    prefetch: int = 2  # batches claimed ahead of the one running
    backoff_cap: float = 5.0


@dataclass(slots=True)
class _Batch:
    jobs: list[Job]
    tensors: list[Future[Prepared]]
    models: dict[object, Future[Runtime]]
    started: float


@dataclass(slots=True)
class Stats:
    claimed: int = 0
    succeeded: int = 0
    failed: int = 0
    accepted: int = 0
    rejected: int = 0
    lost: int = 0


class Worker:
    """One worker process's loop. ``run()`` returns the exit code."""

    def __init__(
        self, client: InferenceClient, cache: WorkerCache, options: WorkerOptions | None = None
    ) -> None:
        self.client = client
        self.cache = cache
        self.options = options or WorkerOptions()
        self._retry = dataclasses.replace(WORKER_POLICY, cap=self.options.backoff_cap)
        name = self.options.name or f"{socket.gethostname()}-{os.getpid()}"
        self.info = WorkerInfo(name, __version__, self.options.site, self.options.flavor)
        self.runtimes = RuntimeCache(intra_op_threads=self.options.intra_op_threads)
        self.fetcher = Fetcher(client)
        self.stats = Stats()
        self.stopping = threading.Event()  # claim nothing more, finish what is held
        self.aborting = threading.Event()  # give back what is held, now
        self._finished = threading.Event()  # the loop is over: background threads end
        self._signals = 0
        self._idle_polling = False
        self._held: dict[str, Lease] = {}
        self._lost: set[str] = set()
        self._held_lock = threading.Lock()
        self._lease_seconds = DEFAULT_LEASE_SECONDS
        self._results: queue.Queue[list[Result] | None] = queue.Queue()
        self._release_supported = True
        self._started = time.monotonic()
        self._claimer: ThreadPoolExecutor | None = None
        self._inflight: deque[_Batch] = deque()

    # --- public ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Finish or give back what is held, then return from ``run`` (thread-safe)."""
        self.stopping.set()

    def abort(self) -> None:
        self.stopping.set()
        self.aborting.set()

    def run(self) -> int:
        """Work until stopped, or until ``max_jobs`` are done. 0 on success, 1 if fatal."""
        code = 0
        with self._signal_handling():
            log.info(
                "worker %s %s: server %s, deployments %s, batch %d, concurrency %d",
                self.info.name,
                __version__,
                self.client.server,
                ",".join(self.options.deployments) or "all",
                self.options.batch,
                self.options.concurrency,
            )
            self._started = time.monotonic()
            pool = ThreadPoolExecutor(
                self.options.concurrency, thread_name_prefix="fetch", initializer=_block_signals
            )
            submitter = threading.Thread(target=self._submit_loop, name="submit", daemon=True)
            heart = threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True)
            submitter.start()
            heart.start()
            try:
                self._main_loop(pool)
            except Fatal as exc:
                log.error("fatal: %s", exc)
                code = 1
                self.abort()
            except Exception:
                log.exception("internal error: giving back the jobs held and exiting")
                code = 1
                self.abort()
            finally:
                if self._claimer is not None:
                    # Its claim ends promptly (stopping is set): then what it took is held too.
                    self.stopping.set()
                    self._claimer.shutdown(wait=True)
                self._results.put(None)
                submitter.join(self.options.stop_timeout)
                if submitter.is_alive():
                    self.aborting.set()
                    submitter.join(5)
                self._release(self._held_leases())
                self._finished.set()
                heart.join(5)
                pool.shutdown(wait=not self.aborting.is_set(), cancel_futures=True)
                if not self.aborting.is_set():  # else a pool thread may still hold its handle
                    self.fetcher.close()
        s = self.stats
        log.info(
            "stopped: %d claimed, %d classified, %d failed, %d accepted, %d rejected, %d lost",
            s.claimed,
            s.succeeded,
            s.failed,
            s.accepted,
            s.rejected,
            s.lost,
        )
        return code

    # --- main thread ----------------------------------------------------------------------

    def _main_loop(self, pool: ThreadPoolExecutor) -> None:
        """Run batches in claim order, keeping ``prefetch`` more claimed and preparing."""
        inflight: deque[_Batch] = deque()  # appended by the claimer, popped here
        self._inflight = inflight
        ahead: Future[None] | None = None  # the claimer's run, at most one at a time
        claimer = ThreadPoolExecutor(1, thread_name_prefix="claim", initializer=_block_signals)
        self._claimer = claimer
        while True:
            if ahead is not None and ahead.done():
                ahead.result()  # a Fatal there ends the worker here
                ahead = None
            if ahead is None and not self.stopping.is_set() and not self._budget_spent():
                if not inflight:
                    # Nothing in hand: long-poll here, where a signal can interrupt the wait.
                    jobs = self._claim(self._budget(), wait=self.options.claim_wait)
                    if jobs:
                        inflight.append(self._start(jobs, pool))
                # The batch about to run, and up to ``prefetch`` behind it.
                if inflight and len(inflight) <= self.options.prefetch:
                    ahead = claimer.submit(self._claim_ahead, inflight, pool)
            if inflight:
                self._finish(inflight.popleft())
            elif ahead is not None:
                wait_futures([ahead])
            elif self.stopping.is_set() or self._budget_spent():
                return

    def _claim_ahead(self, inflight: deque[_Batch], pool: ThreadPoolExecutor) -> None:
        """Claimer thread: top ``inflight`` up to ``prefetch`` batches with what is queued now,
        ``_CLAIM_BATCHES`` batches per call (so ``inflight`` may hold one more than
        ``prefetch``): half the claim calls, and always a batch prepared behind the one
        running.

        The main thread claims nothing while this runs, so the budget is counted by one thread.
        """
        while len(inflight) < self.options.prefetch and not self.stopping.is_set():
            budget = self._budget(_CLAIM_BATCHES)
            if budget <= 0:
                return
            jobs = self._claim(budget, wait=0)
            if not jobs:
                return
            size = self.options.batch
            for start in range(0, len(jobs), size):
                inflight.append(self._start(jobs[start : start + size], pool))
            if len(jobs) < budget:
                return  # the queue is empty for now

    def _budget(self, batches: int = 1) -> int:
        wanted = batches * self.options.batch
        if self.options.max_jobs is None:
            return wanted
        return max(0, min(wanted, self.options.max_jobs - self.stats.claimed))

    def _budget_spent(self) -> bool:
        return self.options.max_jobs is not None and self.stats.claimed >= self.options.max_jobs

    def _claim(self, count: int, *, wait: float) -> list[Job]:
        def call() -> Any:
            self._idle_polling = wait > 0
            try:
                return self.client.claim(
                    count, wait, list(self.options.deployments) or None, self.info.to_json()
                )
            finally:
                self._idle_polling = False

        try:
            answer = self._retrying("claim", call, self.stopping)
        except _Interrupted:
            # From the signal handler (or a stop during retries): claim nothing more.
            self.stopping.set()
            return []
        except ClientError as exc:
            if exc.status == 403:
                raise Fatal(
                    f"the server refuses to give this user work ({exc.code}: {exc.message}); "
                    "a worker's user needs the worker permission (visionhub user create --worker)"
                ) from None
            raise Fatal(f"claim failed: {exc}") from None
        if answer is None:
            return []
        raw = answer.get("jobs") if isinstance(answer, dict) else None
        if not isinstance(raw, list):
            raise Fatal(f"the server's claim answer has no jobs list: {str(answer)[:300]}")
        return self._parse_jobs(raw)

    def _parse_jobs(self, raw: list[Any]) -> list[Job]:
        jobs: list[Job] = []
        broken: list[Result] = []
        models = ModelMemo()
        for item in raw:
            try:
                job = Job.from_json(item, models)
            except ProtocolError as exc:
                # Reported as an error when the lease can be named, so it is not retried forever.
                if isinstance(item, dict) and "request_id" in item and "dispatch_token" in item:
                    lease = Lease(item["request_id"], str(item["dispatch_token"]))
                    self._hold([lease])
                    broken.append(Failure(lease, f"worker protocol error: {exc}"))
                log.error("malformed job: %s", exc)
                continue
            jobs.append(job)
        self.stats.claimed += len(raw)
        if broken:
            self._results.put(broken)
        if jobs:
            self._note_lease_time(jobs)
            self._hold([job.lease for job in jobs])
        return jobs

    def _start(self, jobs: list[Job], pool: ThreadPoolExecutor) -> _Batch:
        models: dict[object, Future[Runtime]] = {}
        for job in jobs:
            key = _model_key(job.model)
            if key not in models:
                models[key] = pool.submit(self._load_model, job.model)
        tensors = [pool.submit(self._prepare, job) for job in jobs]
        return _Batch(jobs, tensors, models, time.monotonic())

    def _finish(self, batch: _Batch) -> None:
        """Wait for the batch's inputs, run each model's images as one batch, queue results."""
        pending: set[Future[Any]] = {*batch.tensors, *batch.models.values()}
        while pending:
            _, pending = wait_futures(pending, timeout=0.2)
            if pending and self.aborting.is_set():
                break
        results: list[Result] = []
        abandoned: list[Lease] = []
        groups: dict[object, list[tuple[Job, Prepared]]] = {}
        for job, future in zip(batch.jobs, batch.tensors, strict=True):
            outcome = _outcome(future)
            if isinstance(outcome, _Abandoned):
                abandoned.append(job.lease)
            elif isinstance(outcome, BaseException):
                results.append(Failure(job.lease, str(outcome)))
            else:
                groups.setdefault(_model_key(job.model), []).append((job, outcome))
        for key, members in groups.items():
            loaded = _outcome(batch.models[key])
            if isinstance(loaded, _Abandoned):
                abandoned.extend(job.lease for job, _ in members)
                continue
            if isinstance(loaded, BaseException):
                results.extend(Failure(job.lease, str(loaded)) for job, _ in members)
                continue
            try:
                answers = loaded.answer(
                    [tensor for _, (tensor, _) in members], [geo for _, (_, geo) in members]
                )
            except ModelError as exc:
                results.extend(Failure(job.lease, f"model_error: {exc}") for job, _ in members)
                continue
            except Exception as exc:
                log.exception("inference failed")
                error = f"worker_error: {type(exc).__name__}: {exc}"
                results.extend(Failure(job.lease, error) for job, _ in members)
                continue
            results.extend(
                answer.result(job.lease) for (job, _), answer in zip(members, answers, strict=True)
            )
        ok = sum(not isinstance(r, Failure) for r in results)
        self.stats.succeeded += ok
        self.stats.failed += len(results) - ok
        if abandoned:
            self._release(abandoned)
        if results:
            self._results.put(results)
        done = self.stats.succeeded + self.stats.failed
        rate = done / (time.monotonic() - self._started)
        log.info(
            "batch of %d: %d classified, %d failed, %d given back, %.2f s after its claim; "
            "%d done, %.1f images/s",
            len(batch.jobs),
            ok,
            len(results) - ok,
            len(abandoned),
            time.monotonic() - batch.started,
            done,
            rate,
        )

    # --- pool threads ---------------------------------------------------------------------

    def _prepare(self, job: Job) -> Prepared:
        """Download (through the cache) and preprocess one job's image; raises its error."""
        limit = self.options.max_image_bytes

        def fetch() -> bytes:
            return self.cache.image(
                job.image.sha256,
                job.image.url,
                lambda url: self.fetcher.fetch(url, max_bytes=limit),
            )

        data = self._download("image", fetch)
        try:
            return prepare(data, job.model.input, max_pixels=self.options.max_pixels)
        except DecodeError as exc:
            raise _JobError(f"invalid_image: {exc}") from None

    def _load_model(self, model: ModelRef) -> Runtime:
        def fetch() -> Path:
            return self.cache.model_path(model, lambda url, dest: self._download_file(url, dest))

        path = self._download("model", fetch)
        try:
            return self.runtimes.get(model, path)
        except ModelError as exc:
            raise _JobError(f"model_error: {exc}") from None

    def _download_file(self, url: str, dest: Path) -> None:
        self.client.download(url, dest)

    def _download(self, what: str, fetch: Callable[[], T]) -> T:
        """``fetch`` with retries; a job error for a 4xx or for content that fails to verify."""
        integrity_failures = 0
        while True:
            try:
                return self._retrying(f"{what} download", fetch, self.aborting)
            except IntegrityError as exc:
                integrity_failures += 1
                if integrity_failures >= 2:
                    raise _JobError(f"{what}_integrity: {exc}") from None
                log.warning("%s; downloading again", exc)
            except ClientError as exc:
                raise _JobError(f"{what}_unavailable: {exc}") from None
            except _Interrupted:
                raise _Abandoned() from None

    # --- submitter thread -----------------------------------------------------------------

    def _submit_loop(self) -> None:
        _block_signals()
        done = False
        while not done:
            batch = self._results.get()
            if batch is None:
                break
            results = list(batch)
            done = self._gather(results)
            self._submit(results)

    def _gather(self, results: list[Result]) -> bool:
        """Add what else is queued to ``results`` (up to ``_RESULTS_PER_REQUEST``); while more
        batches are in hand, wait up to ``_RESULTS_LINGER`` for the next batch's results, so
        that one call carries two batches. Whether the end (None) was taken."""
        deadline = time.monotonic() + _RESULTS_LINGER
        enough = min(_RESULTS_PER_REQUEST, _CLAIM_BATCHES * self.options.batch)
        while len(results) < _RESULTS_PER_REQUEST:
            linger = deadline - time.monotonic()
            try:
                if len(results) < enough and self._inflight and linger > 0:
                    more = self._results.get(timeout=linger)
                else:
                    more = self._results.get_nowait()
            except queue.Empty:
                return False
            if more is None:
                return True
            results.extend(more)
        return False

    def _submit(self, results: list[Result]) -> None:
        """Send ``results`` (except those whose lease was lost) and count the server's verdicts."""
        with self._held_lock:
            lost = [r for r in results if str(r.lease.request_id) in self._lost]
            keep = [r for r in results if str(r.lease.request_id) not in self._lost]
        self.stats.lost += len(lost)
        self._drop([r.lease for r in lost])
        for start in range(0, len(keep), _RESULTS_PER_REQUEST):
            chunk = keep[start : start + _RESULTS_PER_REQUEST]
            body = [r.to_json() for r in chunk]
            try:
                answer = self._retrying(
                    "results", functools.partial(self.client.submit_results, body), self.aborting
                )
            except _Interrupted:
                log.warning("stopping: %d results not sent", len(chunk))
                continue
            except Fatal as exc:
                log.error("fatal: %s", exc)
                self.abort()
                continue
            except ClientError as exc:
                log.error("the server refused %d results: %s", len(chunk), exc)
                self.stats.rejected += len(chunk)
                self._drop([r.lease for r in chunk])
                continue
            except Exception:
                # Never lose the submitter thread: these leases will expire and be redone.
                log.exception("could not send %d results", len(chunk))
                self._drop([r.lease for r in chunk])
                continue
            self._count_verdicts(chunk, answer)
            self._drop([r.lease for r in chunk])

    def _count_verdicts(self, chunk: list[Result], answer: Any) -> None:
        verdicts = parse_verdicts(answer)
        reasons: dict[str, int] = {}
        for result in chunk:
            verdict = verdicts.get(result.lease.request_id)
            if verdict is None or verdict.ok:
                self.stats.accepted += 1
            else:
                self.stats.rejected += 1
                reason = verdict.reason or "rejected"
                reasons[reason] = reasons.get(reason, 0) + 1
        rejected = sum(reasons.values())
        log.info(
            "results of %d jobs sent: %d accepted, %d rejected%s",
            len(chunk),
            len(chunk) - rejected,
            rejected,
            f" ({', '.join(f'{n} {why}' for why, n in reasons.items())})" if reasons else "",
        )

    # --- heartbeat thread -----------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        _block_signals()
        last = time.monotonic()
        # Short waits, so a lease shorter than the one assumed at start-up is kept too.
        while not self._finished.wait(0.25):
            if time.monotonic() - last < max(0.5, self._lease_seconds / 3):
                continue
            leases = self._held_leases()
            if not leases:
                continue
            last = time.monotonic()
            verdicts = Verdicts()
            try:
                for start in range(0, len(leases), _LEASES_PER_REQUEST):
                    chunk = leases[start : start + _LEASES_PER_REQUEST]
                    answer = self.client.heartbeat([lease.to_json() for lease in chunk])
                    verdicts.by_request.update(parse_verdicts(answer).by_request)
            except Exception as exc:  # the beat must go on: log and try at the next one
                log.warning("heartbeat failed (%s); trying again at the next beat", exc)
            lost = [
                lease
                for lease in leases
                if (v := verdicts.get(lease.request_id)) is not None and not v.ok
            ]
            if lost:
                log.warning("%d leases lost (another worker will do them)", len(lost))
                with self._held_lock:
                    self._lost.update(str(lease.request_id) for lease in lost)

    def _note_lease_time(self, jobs: list[Job]) -> None:
        now = datetime.now(UTC)
        remaining = [
            (job.lease_expires_at - now).total_seconds()
            for job in jobs
            if job.lease_expires_at is not None
        ]
        if not remaining:
            return
        # The clocks of worker and server may disagree. Beating too often is harmless, too
        # rarely loses the jobs: an expiry already past counts as a short lease, not a long one.
        seconds = min(remaining)
        if seconds <= 0:
            self._lease_seconds = 3.0
        elif seconds > 3600:
            self._lease_seconds = DEFAULT_LEASE_SECONDS
        else:
            self._lease_seconds = max(1.0, seconds)

    # --- leases ---------------------------------------------------------------------------

    def _hold(self, leases: list[Lease]) -> None:
        with self._held_lock:
            for lease in leases:
                self._held[str(lease.request_id)] = lease

    def _drop(self, leases: list[Lease]) -> None:
        with self._held_lock:
            for lease in leases:
                self._held.pop(str(lease.request_id), None)
                self._lost.discard(str(lease.request_id))

    def _held_leases(self) -> list[Lease]:
        with self._held_lock:
            return [lease for rid, lease in self._held.items() if rid not in self._lost]

    def _release(self, leases: list[Lease]) -> None:
        """Give leases back: the server's release call if it has one, else let them expire."""
        self._drop(leases)
        if not leases or not self._release_supported:
            return
        try:
            for start in range(0, len(leases), _LEASES_PER_REQUEST):
                chunk = leases[start : start + _LEASES_PER_REQUEST]
                self.client.release([lease.to_json() for lease in chunk])
            log.info("gave back %d jobs", len(leases))
        except ClientError as exc:
            if exc.status in (404, 405):
                self._release_supported = False
            log.info("%d leases left to expire (release: %s)", len(leases), exc.code)
        except httpx.HTTPError as exc:
            log.info("%d leases left to expire (%s)", len(leases), exc)

    # --- retries and signals --------------------------------------------------------------

    def _retrying(self, what: str, call: Callable[[], T], cancel: threading.Event) -> T:
        """``call()``, retried by the worker's policy (``WORKER_POLICY``, with ``backoff_cap``)
        until it succeeds or ``cancel`` is set (then ``_Interrupted``). Every call of the worker
        is safe to repeat: a claim answered into a lost connection only leaves leases to expire,
        results carry their dispatch tokens, heartbeats and downloads change nothing.

        Raises ``Fatal`` on 401 and passes any other ``ClientError`` on.
        """
        try:
            return self._retry.call(what, call, idempotent=True, cancel=cancel, logger=log)
        except RetryInterrupted:
            raise _Interrupted() from None
        except ClientError as exc:
            if exc.status == 401:
                raise Fatal(
                    f"the server rejected the token ({exc.code}: {exc.message}); "
                    "check --token or VISIONHUB_TOKEN"
                ) from None
            raise

    def _apply_signals(self) -> None:
        if self._signals >= 1 and not self.stopping.is_set():
            log.info("stopping: finishing the jobs held (signal again to give them back)")
            self.stopping.set()
        if self._signals >= 2 and not self.aborting.is_set():
            log.info("giving back the jobs held and exiting")
            self.aborting.set()

    @contextlib.contextmanager
    def _signal_handling(self) -> Iterator[None]:
        """SIGTERM/SIGINT → stop (then abort), when ``run`` is on the main thread.

        Every other thread of the worker blocks these signals, so the kernel delivers them to
        the main thread, whose blocking calls they interrupt: the handler cuts short an idle
        long-poll (nothing is held then) and does nothing else, since touching locks there could
        deadlock the code it interrupted. A watcher thread, woken through
        ``signal.set_wakeup_fd`` with each signal's number, counts them and sets the events.
        """
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        reader, writer = socket.socketpair()
        writer.setblocking(False)
        ours = (signal.SIGTERM, signal.SIGINT)

        def handler(signum: int, frame: Any) -> None:
            if self._idle_polling:
                self._idle_polling = False
                raise _Interrupted()

        def watch() -> None:
            _block_signals()
            while data := reader.recv(64):
                self._signals += sum(1 for number in data if number in ours)
                self._apply_signals()

        previous = {sig: signal.signal(sig, handler) for sig in ours}
        old_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        watcher = threading.Thread(target=watch, name="signals", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            signal.set_wakeup_fd(old_fd)
            for sig, old in previous.items():
                signal.signal(sig, old)
            writer.close()
            watcher.join(1)
            reader.close()


def _block_signals() -> None:
    """Leave SIGTERM and SIGINT to the main thread (threads started here inherit this)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})


class _JobError(Exception):
    """This job cannot be done (reported to the server as its error)."""


def _model_key(model: ModelRef) -> object:
    return (model.version_id, model.onnx_file.sha256, model.input, model.classes, model.output)


def _outcome(future: Future[T]) -> T | BaseException:
    """A finished future's value, or its error; ``_Abandoned`` for one never finished."""
    if not future.done() or future.cancelled():
        return _Abandoned()
    error = future.exception()
    if error is None:
        return future.result()
    if isinstance(error, _JobError | _Abandoned):
        return error
    if isinstance(error, Fatal):
        raise error
    # Anything unexpected is this job's error, not the worker's end.
    log.exception("unexpected error", exc_info=error)
    return RuntimeError(f"worker_error: {type(error).__name__}: {error}")


__all__ = ["Fatal", "Stats", "Worker", "WorkerOptions"]
