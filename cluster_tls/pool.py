"""Evaluate many stacks in one start: import once, then fork a worker per stack (as many at a time as cores).

A stack's evaluation costs tens of milliseconds once Python, Pulumi's SDK and the components are imported; a
fresh process per stack pays about a second for those imports (issue 21). The first item runs in this process,
which also warms what imports lazily; the other items run in children forked from that state, which evaluate one
stack after another as this process would (a fork per item costs about 30 ms more, measured with
benchmarks/fleet_review.py). Outcomes come back in input order, whatever order the workers finish in.

Standard library only: a revision's own code is evaluated by loading this file beside it (cluster_tls/revision.py).
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TextIO

WORKERS_VARIABLE = "CLUSTER_TLS_WORKERS"


@dataclass(frozen=True)
class Outcome:
    """What one item's job returned, or the one-line error that ended it."""

    item: str
    value: Any = None
    error: str | None = None


class WorkersSettingError(ValueError):
    """`CLUSTER_TLS_WORKERS` is not a whole number: a usage error, not a fault of the package."""


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


# What the workers run: set before the pool forks them, so that only an index crosses to a worker (a job may be a
# closure, which does not pickle).
_JOB: tuple[Sequence[str], Callable[[str], Any], Callable[[BaseException], str]] | None = None


def _default_signals() -> None:
    """In a worker: SIGTERM and SIGINT as a plain process has them (the parent's handler below is not the child's)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C reaches the parent, which stops the workers


@contextlib.contextmanager
def _workers_end_with_us(pool: ProcessPoolExecutor) -> Iterator[None]:
    """On SIGTERM (or Ctrl-C), end the workers before this process ends (issue 28: SIGTERM left them running)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: Any) -> None:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run(index: int) -> Outcome:
    assert _JOB is not None
    items, job, describe = _JOB
    try:
        return Outcome(items[index], value=job(items[index]))
    except Exception as error:
        return Outcome(items[index], error=describe(error))


def run_all(
    items: Sequence[str],
    job: Callable[[str], Any],
    describe: Callable[[BaseException], str],
    *,
    what: str = "stacks",
    progress_stream: TextIO | None = None,
) -> list[Outcome]:
    """`job(item)` for every item, in forked workers where the platform forks; `describe` turns an error into
    that item's one-line message. What the job returns must pickle."""
    global _JOB
    progress = Progress(len(items), what, progress_stream)
    workers = worker_count(len(items)) if _forking() else 1
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
            context = multiprocessing.get_context("fork")
            pool = ProcessPoolExecutor(min(workers, len(rest)), mp_context=context, initializer=_default_signals)
            with pool, _workers_end_with_us(pool):
                for index, future in [(index, pool.submit(_run, index)) for index in rest]:
                    try:
                        outcomes.append(future.result())
                    except BrokenProcessPool:  # a worker was killed (out of memory, a signal): not one stack's fault
                        outcomes.append(
                            Outcome(items[index], error="a worker process ended before this evaluation did")
                        )
                    progress.step()
    finally:
        _JOB = None
        gc.unfreeze()
    return outcomes
