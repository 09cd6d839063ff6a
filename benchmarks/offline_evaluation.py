"""How long `cluster-tls preview/render` takes per stack, and its peak memory.

    .venv/bin/python benchmarks/offline_evaluation.py [--runs 5]

Prints, per stack: resources registered, median and max wall time of one evaluation + render, and the
process's peak resident memory after all runs. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

from cluster_tls.cli import evaluate
from cluster_tls.manifests import render_files
from cluster_tls.stackfile import Project


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    project = Project.find(Path(__file__).resolve().parent.parent)
    print(f"{'stack':<10} {'resources':>9} {'files':>6} {'median ms':>10} {'max ms':>8}")
    for stack in project.stacks():
        timings = []
        for _ in range(args.runs):
            start = time.perf_counter()
            evaluation = evaluate(stack, project)
            files = render_files(evaluation)
            timings.append((time.perf_counter() - start) * 1000)
        print(
            f"{stack:<10} {len(evaluation.registrations):>9} {len(files):>6} "
            f"{statistics.median(timings):>10.1f} {max(timings):>8.1f}"
        )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mib:.0f} MiB after {args.runs} runs per stack")


if __name__ == "__main__":
    main()
