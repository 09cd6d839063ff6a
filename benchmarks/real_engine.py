"""`pulumi preview` and `pulumi up` on the real engine next to `cluster-tls preview`, whole processes, medians.

    .venv/bin/python benchmarks/real_engine.py [--runs 5] [--stacks dev,seed-000] [--json out.json]

Needs the binaries of `tools/e2e/build.sh` (run first; `make e2e` does). Starts the e2e tier's cluster on loopback
(etcd, kube-apiserver, kube-controller-manager, cert-manager), then per stack and run, each a new process:
- `cluster-tls preview --stack S` (the offline engine);
- `pulumi preview` through the Automation API (Python start-up and imports, the CLI, engine, provider plugin);
- `pulumi up` from nothing, and the time from its start until every Certificate of the stack is Ready in the API
  server (polled every 50 ms), then `pulumi destroy` (not timed).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from report import e2e_binaries, header, write  # noqa: E402

from cluster_tls.stacks.program import main as stack_program  # noqa: E402
from tests.e2e.cluster import Cluster  # noqa: E402
from tests.e2e.engine import Engine, Project  # noqa: E402

STACKS = {  # stack file, the e2e tier's config, what the cluster must hold first
    "dev": ("stacks/Pulumi.dev.yaml", "tests.e2e.test_dev_stack"),
    "seed-000": ("tests/seeds/Pulumi.seed-000.yaml", "tests.e2e.test_whizard_seed"),
}


def _one(argv: list[str]) -> None:
    """In a process of its own: one Automation API operation on an existing project copy."""
    operation, folder, stack, bin_, home, kubeconfig = argv
    engine = Engine(Path(bin_), Path(home), Path(kubeconfig))
    engine.prepare()
    project = Project(Path(folder), stack, _in(Path(folder)))
    getattr(engine.stack(project), operation)()


def _in(folder: Path):
    from tests.e2e.engine import _in_folder

    return _in_folder(folder, stack_program)


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def _all_ready(cluster: Cluster, namespaces: list[str]) -> bool:
    certs = [c for ns in namespaces for c in cluster.kube.list("cert-manager.io/v1", "Certificate", ns)]
    return bool(certs) and all(
        any(c["type"] == "Ready" and c["status"] == "True" for c in (cert.get("status") or {}).get("conditions", []))
        for cert in certs
    )


def _up_until_ready(argv: list[str], cluster: Cluster, namespaces: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    ready_at: list[float] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if _all_ready(cluster, namespaces):
                ready_at.append(time.perf_counter() - start)
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    subprocess.run(argv, check=True, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    total = time.perf_counter() - start
    watcher.join(5)
    done.set()
    return total, ready_at[0] if ready_at else float("nan")


def main() -> int:
    if sys.argv[1:2] == ["--one"]:
        _one(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stacks", default="dev,seed-000")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    bin_ = e2e_binaries(REPO)
    shared = REPO.parent / "shared" / "schemas" / "crds"
    crds = sorted((bin_.parent / "cert-manager-crds").glob("*.yaml")) + sorted((shared / "istio").glob("*.yaml"))
    cluster = Cluster(bin=bin_, crds=crds).start()
    results = {}
    try:
        cluster.kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}})
        with tempfile.TemporaryDirectory(prefix="cluster-tls-bench-") as scratch:
            engine = Engine(bin_, Path(scratch) / "pulumi", cluster.kubeconfig)
            engine.prepare()
            for name in args.stacks.split(","):
                results[name] = _bench_stack(name, args.runs, cluster, engine, Path(scratch))
    finally:
        cluster.stop()
    report = {**header(f"kube-apiserver {cluster.versions()['kube-apiserver']}"), "runs": args.runs, "stacks": results}
    print(
        f"{'stack':10} {'cluster-tls preview':>20} {'pulumi preview':>15} {'pulumi up':>10} {'Certificates Ready':>19}"
    )
    for name, r in results.items():
        print(
            f"{name:10} {r['offline_preview_s']:>19.2f}s {r['pulumi_preview_s']:>14.2f}s {r['pulumi_up_s']:>9.2f}s "
            f"{r['up_to_ready_s']:>18.2f}s"
        )
    write(args.json, report)
    return 0


def _bench_stack(name: str, runs: int, cluster: Cluster, engine: Engine, scratch: Path) -> dict:
    import importlib

    stack_file, test_module = STACKS[name]
    module = importlib.import_module(test_module)
    if name == "seed-000":
        module.prepare_kubesphere(
            cluster, sorted((REPO.parent / "shared/schemas/crds/whizard/v0.9.0-legacy").glob("*.yaml"))
        )
    project = Project.copy_of(REPO, REPO / stack_file, name, scratch / name, module.E2E_CONFIG, stack_program)
    engine.stack(project)  # created once, with the passphrase provider
    one = [sys.executable, __file__, "--one"]
    tail = [str(project.folder), name, str(engine.bin), str(engine.home), str(engine.kubeconfig)]
    offline = [
        sys.executable,
        "-m",
        "cluster_tls.cli",
        "preview",
        "--stack",
        name,
        "--project-dir",
        str(project.folder),
    ]
    namespaces = sorted(
        {ns for ns in ("cert-manager", "istio-system", "kubesphere-monitoring-system", "kubesphere-system")}
    )
    previews, offline_runs, ups, readies = [], [], [], []
    for _ in range(runs):
        offline_runs.append(_timed(offline))
        previews.append(_timed([*one, "preview", *tail]))
        total, ready = _up_until_ready([*one, "up", *tail], cluster, namespaces)
        ups.append(total)
        readies.append(ready)
        _timed([*one, "destroy", *tail])
    return {
        "offline_preview_s": statistics.median(offline_runs),
        "pulumi_preview_s": statistics.median(previews),
        "pulumi_up_s": statistics.median(ups),
        "up_to_ready_s": statistics.median(readies),
        "samples": {
            "offline_preview": offline_runs,
            "pulumi_preview": previews,
            "pulumi_up": ups,
            "up_to_ready": readies,
        },
    }


if __name__ == "__main__":
    sys.exit(main())
