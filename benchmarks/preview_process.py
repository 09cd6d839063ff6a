"""The prod stack's `cluster-tls preview` as a whole process, and where its import time goes.

    .venv/bin/python benchmarks/preview_process.py [--runs 7] [--stack prod] [--json out.json] [--quick]

Each run is a new interpreter running the installed CLI's entry point (`cluster_tls.cli:entry_point`), so the figure
includes interpreter start-up and every import, as a user pays it. Also measured, each as its own process: a bare
interpreter, and importing the CLI without running it. Then one `python -X importtime` of the CLI, with the
self-time of every module summed by its top-level distribution (pulumi, pulumi_kubernetes, pydantic, ...).
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from report import header, write

REPO = Path(__file__).resolve().parent.parent
RUN_CLI = "import sys; from cluster_tls.cli import entry_point; sys.exit(entry_point())"


def _wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def _median_seconds(argv: list[str], runs: int) -> float:
    return statistics.median(_wall(argv) for _ in range(runs))


def import_breakdown() -> dict[str, float]:
    """Milliseconds of import self-time per top-level module, from `-X importtime` (stderr lines
    `import time: self [us] | cumulative | name`)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import cluster_tls.cli"],
        check=True,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    totals: collections.Counter[str] = collections.Counter()
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        totals[name.split(".")[0]] += int(self_us) / 1000
    return dict(totals.most_common())


# The libraries the program itself uses, which `pulumi up` of the same program imports too.
PROGRAM_LIBRARIES = ("pulumi", "pulumi_kubernetes", "pulumi_random", "pydantic", "pydantic_core", "yaml")


def library_modules(stack: str) -> list[str]:
    """Every module of PROGRAM_LIBRARIES that the preview of `stack` has executed by the time it ends."""
    script = (
        "import contextlib, io, json, sys\n"
        "from cluster_tls.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()): main(['preview', '--stack', {stack!r}])\n"
        # pulumi_kubernetes registers its modules lazily (importlib.util.LazyLoader): count only those executed.
        f"print(json.dumps(sorted(m for m, module in sys.modules.items() if m.split('.')[0] in {PROGRAM_LIBRARIES!r}"
        " and type(module).__name__ != '_LazyModule')))"
    )
    result = subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _import_seconds(modules: list[str]) -> float:
    script = (
        f"import time; start = time.perf_counter(); import {', '.join(modules)}; print(time.perf_counter() - start)"
    )
    result = subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO, capture_output=True, text=True)
    return float(result.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--quick", action="store_true", help="one run each: checks the script works")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs

    python = [sys.executable, "-c"]
    timings = {
        "interpreter": _median_seconds([*python, "pass"], runs),
        "import cli": _median_seconds([*python, "import cluster_tls.cli"], runs),
        "preview": _median_seconds([*python, RUN_CLI, "preview", "--stack", args.stack], runs),
    }
    timings["evaluation"] = timings["preview"] - timings["import cli"]
    # The floor no offline runner can go under: start-up plus importing what the program's own libraries load
    # (timed inside the process: a process that exits right after such imports spends more in teardown than the
    # CLI does).
    modules = library_modules(args.stack)
    timings["library imports"] = statistics.median(_import_seconds(modules) for _ in range(runs))
    timings["floor"] = timings["interpreter"] + timings["library imports"]
    imports = import_breakdown()

    print(f"`cluster-tls preview --stack {args.stack}`, whole process, median of {runs}:")
    print("| part | seconds |\n|---|---|")
    for part, seconds in timings.items():
        print(f"| {part} | {seconds:.3f} |")
    print("\nimport self-time by top-level module (ms), one `-X importtime` run:")
    print("| module | ms |\n|---|---|")
    for module, ms in list(imports.items())[:12]:
        print(f"| {module} | {ms:.0f} |")
    print(f"| (all, {len(imports)} top-level modules) | {sum(imports.values()):.0f} |")

    write(
        args.json,
        {
            **header(),
            "stack": args.stack,
            "runs": runs,
            "seconds": {part: round(seconds, 4) for part, seconds in timings.items()},
            "library_modules": len(modules),
            "import_self_ms": [[module, round(ms, 1)] for module, ms in imports.items()],
        },
    )


if __name__ == "__main__":
    main()
