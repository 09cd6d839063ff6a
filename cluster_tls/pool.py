"""Evaluate many stacks in one start: import once, then fork workers that evaluate one stack after another.

A stack's evaluation costs tens of milliseconds once Python, Pulumi's SDK and the components are imported; a
fresh process per stack pays about a second for those imports (issue 21). The first item runs in this process,
which also warms what imports lazily; the other items run in workers forked from that state (as many at a time as
cores). Outcomes come back in input order, whatever order the workers finish in.

Faults fail only the item they hit (issue 28): a worker that dies (the OOM killer, a signal) fails the item it was
evaluating, which is tried once more in a fresh worker and then reported for itself; an item that runs past the
time limit (`CLUSTER_TLS_STACK_TIMEOUT`, a stopped worker included) has its worker killed and is reported; the
workers die with this process (PR_SET_PDEATHSIG), and SIGTERM or Ctrl-C ends them before it exits.

Standard library only: a revision's own code is evaluated by loading this file beside it (cluster_tls/revision.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, TextIO

WORKERS_VARIABLE = "CLUSTER_TLS_WORKERS"
TIME_LIMIT_VARIABLE = "CLUSTER_TLS_STACK_TIMEOUT"
DEFAULT_TIME_LIMIT = 600.0  # seconds per item; one stack's evaluation takes well under one
_PR_SET_PDEATHSIG = 1  # prctl(2)


@dataclass(frozen=True)
class Outcome:
    """What one item's job returned, or the one-line error that ended it."""

    item: str
    value: Any = None
    error: Any = None


class WorkersSettingError(ValueError):
    """`CLUSTER_TLS_WORKERS` or `CLUSTER_TLS_STACK_TIMEOUT` is not a number: a usage error, not a fault of ours."""


class WorkerLost(Exception):
    """The worker evaluating an item died or ran out of time: not the item's own error."""


def worker_count(items: int) -> int:
    """`CLUSTER_TLS_WORKERS`, or the cores this process may use; never more than there are items."""
    wanted = os.environ.get(WORKERS_VARIABLE, "").strip()
    if wanted:
        try:
            count = int(wanted)
        except ValueError:
            raise WorkersSettingError(
                f"{WORKERS_VARIABLE} must be a whole number of workers (got {wanted[:20]!r})"
            ) from None
    else:
        count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(count, items))


def time_limit() -> float:
    """Seconds one item may take in a worker: `CLUSTER_TLS_STACK_TIMEOUT`, else DEFAULT_TIME_LIMIT."""
    wanted = os.environ.get(TIME_LIMIT_VARIABLE, "").strip()
    if not wanted:
        return DEFAULT_TIME_LIMIT
    try:
        seconds = float(wanted)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 10**7:
        raise WorkersSettingError(f"{TIME_LIMIT_VARIABLE} must be a number of seconds above 0 (got {wanted[:20]!r})")
    return seconds


def _forking() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


class Progress:
    """`12/200 stacks` on one line of stderr, when stderr is a terminal; nothing otherwise."""

    def __init__(self, total: int, what: str, stream: TextIO | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.shown = total > 1 and self.stream.isatty() and os.environ.get("TERM") != "dumb"
        self.total, self.what, self.done = total, what, 0

    def step(self) -> None:
        self.done += 1
        if self.shown:
            end = "\n" if self.done == self.total else ""
            self.stream.write(f"\rcluster-tls: {self.what} {self.done}/{self.total}{end}")
            self.stream.flush()


# What the workers run: set before they fork, so that only an index crosses to a worker (a job may be a closure,
# which does not pickle).
_JOB: tuple[Sequence[str], Callable[[str], Any], Callable[[BaseException], Any]] | None = None


def _run(index: int) -> Outcome:
    assert _JOB is not None
    items, job, describe = _JOB
    try:
        return Outcome(items[index], value=job(items[index]))
    except Exception as error:
        return Outcome(items[index], error=describe(error))


def _die_with_parent(parent: int) -> None:
    """The kernel kills this worker when the process that forked it ends, however it ends (a SIGKILL included)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent ended before the request was made
        os._exit(1)


def _worker(connection: Connection, parent: int) -> None:
    _die_with_parent(parent)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C reaches the parent, which stops the workers
    while True:
        try:
            index = connection.recv()
        except EOFError:
            return
        if index is None:
            return
        outcome = _run(index)
        try:
            connection.send(outcome)
        except Exception as error:  # a value that does not pickle: that item's error, not the worker's end
            connection.send(Outcome(outcome.item, error=_JOB[2](error) if _JOB else str(error)))


@dataclass
class _Worker:
    process: Any
    connection: Connection
    index: int | None = None
    started: float = 0.0


@dataclass
class _Scheduler:
    """Hands items to workers, collects outcomes, replaces workers that die or overrun."""

    items: Sequence[str]
    describe: Callable[[BaseException], Any]
    size: int
    limit: float
    progress: Progress
    queue: deque[int] = field(default_factory=deque)
    tries: dict[int, int] = field(default_factory=dict)
    results: dict[int, Outcome] = field(default_factory=dict)
    workers: list[_Worker] = field(default_factory=list)

    def start_worker(self) -> None:
        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe()
        process = context.Process(target=_worker, args=(theirs, os.getpid()), daemon=True)
        process.start()
        theirs.close()
        self.workers.append(_Worker(process, ours))

    def give(self, worker: _Worker) -> None:
        if not self.queue:
            return
        worker.index = self.queue.popleft()
        worker.started = time.monotonic()
        self.tries[worker.index] = self.tries.get(worker.index, 0) + 1
        try:
            worker.connection.send(worker.index)
        except OSError:  # it died between items: the next wait sees its end
            pass

    def finish(self, index: int, outcome: Outcome) -> None:
        self.results[index] = outcome
        self.progress.step()

    def retire(self, worker: _Worker) -> None:
        with contextlib.suppress(OSError):
            worker.connection.send(None)
        self.workers.remove(worker)
        worker.process.join()
        worker.connection.close()

    def lost(self, worker: _Worker, why: str, retry: bool) -> None:
        self.workers.remove(worker)
        worker.process.kill()
        worker.process.join()
        worker.connection.close()
        index = worker.index
        if index is not None:
            if retry and self.tries[index] < 2:
                self.queue.appendleft(index)
            else:
                self.finish(index, Outcome(self.items[index], error=self.describe(WorkerLost(why))))
        if self.queue:
            self.start_worker()
            self.give(self.workers[-1])

    def run(self, indexes: Sequence[int]) -> None:
        self.queue.extend(indexes)
        for _ in range(min(self.size, len(self.queue))):
            self.start_worker()
            self.give(self.workers[-1])
        while self.workers:
            now = time.monotonic()
            busy = [w for w in self.workers if w.index is not None]
            timeout = min((w.started + self.limit - now for w in busy), default=None)
            ready = wait(
                [w.connection for w in self.workers] + [w.process.sentinel for w in self.workers],
                timeout=None if timeout is None else max(timeout, 0.0),
            )
            for worker in list(self.workers):
                outcome, ended = None, worker.process.sentinel in ready
                if worker.connection in ready:
                    try:
                        outcome = worker.connection.recv()
                    except (EOFError, OSError):
                        ended = True
                if outcome is not None and worker.index is not None:
                    self.finish(worker.index, outcome)
                    worker.index = None
                    if self.queue:
                        self.give(worker)
                    else:
                        self.retire(worker)
                elif ended:
                    worker.process.join()
                    code = worker.process.exitcode
                    how = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit {code}"
                    twice = worker.index is not None and self.tries.get(worker.index, 0) >= 2
                    self.lost(
                        worker,
                        f"the worker evaluating it ended ({how}){', twice' if twice else ''}; out of memory or killed?",
                        retry=True,
                    )
            now = time.monotonic()
            for worker in list(self.workers):
                if worker.index is not None and now - worker.started >= self.limit:
                    self.lost(
                        worker,
                        f"no result after {self.limit:g} s ({TIME_LIMIT_VARIABLE}); its worker was stopped",
                        retry=False,
                    )

    def stop(self) -> None:
        for worker in self.workers:
            with contextlib.suppress(OSError):
                worker.process.kill()
        for worker in self.workers:
            worker.process.join()


@contextlib.contextmanager
def _workers_end_with_us(scheduler: _Scheduler) -> Iterator[None]:
    """On SIGTERM (or Ctrl-C), end the workers before this process ends (issue 28: SIGTERM left them running)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: Any) -> None:
        scheduler.stop()
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        scheduler.stop()


def run_all(
    items: Sequence[str],
    job: Callable[[str], Any],
    describe: Callable[[BaseException], Any],
    *,
    what: str = "stacks",
    progress_stream: TextIO | None = None,
) -> list[Outcome]:
    """`job(item)` for every item, in forked workers where the platform forks; `describe` turns an error (a
    WorkerLost included) into that item's error. What the job returns must pickle."""
    global _JOB
    progress = Progress(len(items), what, progress_stream)
    workers = worker_count(len(items)) if _forking() else 1
    limit = time_limit()
    outcomes: list[Outcome] = []
    _JOB = (items, job, describe)
    try:
        for index in range(len(items) if workers == 1 else min(1, len(items))):  # all, or the warm-up item
            outcomes.append(_run(index))
            progress.step()
        rest = range(len(outcomes), len(items))
        if rest:
            # Children then do not copy the parent's objects just to scan them (docs.python.org/3/library/gc.html).
            gc.freeze()
            scheduler = _Scheduler(items, describe, min(workers, len(rest)), limit, progress)
            with _workers_end_with_us(scheduler):
                scheduler.run(rest)
            outcomes += [scheduler.results[index] for index in rest]
    finally:
        _JOB = None
        gc.unfreeze()
    return outcomes
