"""Large stack files: `cluster-tls preview` of a gateway with many hosts, and of a stack file grown to several MiB by
another tool's config beside ours (Pulumi stack files are shared by every provider of the stack), issue 20.

    .venv/bin/python benchmarks/large_stack_file.py [--hosts 300,1000,3000,10000] [--mib 1,4,8] [--json out.json]

Each case is a new interpreter running the CLI (`preview --stack big` in a scratch project), as a user pays it;
wall time and the peak resident memory of that process (os.wait4). Before issue 20 the file was parsed three times
by pure-Python PyYAML and duplicate hosts were found in O(n^2): the review measured 25 s for 4 MiB, 11 s for
3,000 hosts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from preview_process import REPO, RUN_CLI
from report import header, write


def gateway_stack(hosts: int, other_mib: float) -> str:
    """A private CA and one Istio gateway serving `hosts` names, plus `other_mib` MiB of another tool's keys."""
    lines = [
        "config:",
        "  cluster-tls:privateCa: {scope: cluster}",
        "  cluster-tls:namespaces: {existing: [istio-system, apps]}",
        "  cluster-tls:istioGateway:",
        "    name: big",
        "    issuerFrom: privateCa",
        "    backend: {service: web, port: 8080, namespace: apps}",
        "    hosts:",
        *(f"      - host-{i:05d}.apps.example.internal" for i in range(hosts)),
    ]
    if other_mib:
        lines.append("  other-tool:settings:")
        entry = "    key-{:07d}: " + "v" * 100
        count = int(other_mib * 1024 * 1024 / (len(entry.format(0)) + 1))
        lines += [entry.format(i) for i in range(count)]
    return "\n".join(lines) + "\n"


def measure(text: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch)
        shutil.copy(REPO / "Pulumi.yaml", project / "Pulumi.yaml")
        (project / "stacks").mkdir()
        (project / "stacks" / "Pulumi.big.yaml").write_text(text)
        argv = [sys.executable, "-c", RUN_CLI, "--project-dir", str(project), "preview", "--stack", "big"]
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        stderr = process.stderr.read().decode() if process.stderr else ""
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"preview failed: {stderr[-2000:]}")
    return {
        "file_mib": round(len(text.encode()) / 2**20, 2),
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", default="300,1000,3000,10000")
    parser.add_argument("--mib", default="1,4,8")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: that the script runs, not its figures")
    args = parser.parse_args()
    host_counts = [10, 50] if args.quick else [int(n) for n in args.hosts.split(",")]
    sizes = [0.05] if args.quick else [float(n) for n in args.mib.split(",")]
    rows = [{"case": "hosts", "hosts": n, **measure(gateway_stack(n, 0))} for n in host_counts]
    rows += [{"case": "other tool's config", "hosts": 1, **measure(gateway_stack(1, mib))} for mib in sizes]
    print("| case | hosts | file MiB | seconds | peak RSS MiB |\n| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['case']} | {row['hosts']} | {row['file_mib']} | {row['seconds']} | {row['peak_rss_mib']} |")
    write(args.json, {**header("one process per case: `cluster-tls preview`"), "rows": rows})


if __name__ == "__main__":
    main()
