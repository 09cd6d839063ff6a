"""Staging and prod to every Certificate Ready on the real tier: `pulumi up` next to the seeds' hand steps and a
fixed 60 s sleep (issue 27). A benchmark, not a test: wall times on this machine, one run each by default.

    .venv/bin/python benchmarks/real_stacks.py [--stacks staging,prod] [--runs 1] [--json out.json]

Each way runs on a fresh platform of the e2e tier (tests/e2e/platform.py: the API server with pods, cert-manager's
processes from its chart's pods, the chart mirror, pebble, the DNSPod stand-in), with the same stack config (the
shipped file with the e2e overrides; the domain plain, the DNSPod credentials secret):
- `pulumi up`: one run of the stack; done when it returns, which is when every Certificate is Ready (they carry
  pulumi.com/waitFor) - the time the first Certificate was Ready is recorded too;
- hand steps, as seed 002 writes them: `helm install --wait` of each chart the stack installs, `kubectl create
  secret` of the credentials, `kubectl apply` of every object `cluster-tls render` writes (retried while the
  webhook refuses), then `kubectl wait --for=condition=Ready` on every Certificate;
- a fixed sleep, as a Terraform module does: `helm install` without --wait, `sleep 60`, then the same applies and
  wait (an apply the webhook refuses is retried, as `kubectl apply` in a loop would be).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pulumi import automation as auto  # noqa: E402
from report import e2e_binaries, header, write  # noqa: E402

from cluster_tls.stackfile import Project as StackProject  # noqa: E402
from cluster_tls.stackfile import stack_entries  # noqa: E402
from cluster_tls.stacks.program import main as stack_program  # noqa: E402
from tests.e2e.engine import Project  # noqa: E402
from tests.e2e.kube import ApiError, conditions  # noqa: E402
from tests.e2e.platform import Platform, engine_for, environment  # noqa: E402
from tests.e2e.test_whizard_seed import prepare_kubesphere  # noqa: E402

ZONE = "bench-zone.example"
SECRET_ID, SECRET_KEY = "AKIDbenchmark-id", "benchmark-key-value"
SHARED = REPO.parent / "shared" / "schemas" / "crds"


def _platform(bin_: Path, stack: str) -> tuple[Platform, dict]:
    crds = sorted((SHARED / "istio").glob("*.yaml")) + sorted((SHARED / "gateway-api").glob("*.yaml"))
    platform = Platform(bin_, crds, stack, (ZONE,), SECRET_ID, SECRET_KEY).start()
    entries = stack_entries(StackProject.find(REPO), stack)
    for ns in entries["cluster-tls:namespaces"].get("existing", []):
        platform.cluster.kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    if "cluster-tls:whizard" in entries:
        prepare_kubesphere(platform.cluster, sorted((SHARED / "whizard" / "v0.10.3").glob("*.yaml")))
    config = platform.overrides(entries)
    config["cluster-tls:dnspod"] |= {"domain": ZONE, "email": f"ops@{ZONE}"}
    gateway = config["cluster-tls:istioGateway"]
    gateway["hosts"] = [f"{h.split('.')[0]}.{ZONE}" for h in gateway["hosts"]]
    return platform, config


def _all_ready(platform: Platform) -> bool:
    try:
        certificates = platform.cluster.kube.list_all("cert-manager.io/v1", "Certificate")
    except (ApiError, LookupError):
        return False
    return bool(certificates) and all(conditions(c).get("Ready") == "True" for c in certificates)


def _first_ready_watch(platform: Platform, start: float, found: list[float], stop) -> None:
    while not stop.is_set():
        try:
            certificates = platform.cluster.kube.list_all("cert-manager.io/v1", "Certificate")
        except (ApiError, LookupError):  # cert-manager's CRDs are not installed yet
            certificates = []
        if any(conditions(c).get("Ready") == "True" for c in certificates):
            found.append(time.perf_counter() - start)
            return
        time.sleep(0.2)


@contextlib.contextmanager
def stack_up(bin_: Path, stack: str, scratch: Path):
    """The stack as shipped (with the e2e overrides) brought up by `pulumi up` on a fresh platform: yields
    (platform, project folder, timings), the platform stopped afterwards."""
    platform, config = _platform(bin_, stack)
    try:
        engine = engine_for(bin_, scratch / f"{stack}-pulumi", platform.cluster.kubeconfig)
        with environment(engine):
            project = Project.copy_of(
                REPO,
                REPO / "stacks" / f"Pulumi.{stack}.yaml",
                stack,
                scratch / f"{stack}-project",
                config,
                stack_program,
            )
            made = engine.stack(project)
            for key, value in (("secretId", SECRET_ID), ("secretKey", SECRET_KEY)):
                made.set_config(
                    f"cluster-tls:dnspod.credentials.{key}", auto.ConfigValue(value, secret=True), path=True
                )
            first: list[float] = []
            stop = threading.Event()
            start = time.perf_counter()
            threading.Thread(target=_first_ready_watch, args=(platform, start, first, stop), daemon=True).start()
            made.up()
            total = time.perf_counter() - start
            stop.set()
            assert _all_ready(platform)
            yield platform, project.folder, {"all_ready_s": total, "first_ready_s": first[0] if first else None}
    finally:
        platform.stop()


def pulumi_up(bin_: Path, stack: str, scratch: Path) -> dict:
    with stack_up(bin_, stack, scratch) as (_, _, timings):
        return timings


def _render(stack: str, config: dict, folder: Path) -> Path:
    """`cluster-tls render` of the stack with this config (credentials left out: they are created by hand)."""
    import shutil

    project = folder / "project"
    (project / "stacks").mkdir(parents=True)
    shutil.copy(REPO / "Pulumi.yaml", project / "Pulumi.yaml")
    (project / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))
    out = folder / "render"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cluster_tls.cli",
            "render",
            "--stack",
            stack,
            "--out",
            str(out),
            "--project-dir",
            str(project),
        ],
        check=True,
        cwd=REPO,
        capture_output=True,
    )
    return out


def _helm_install(bin_: Path, env: dict, release: dict, sleep: float | None) -> None:
    argv = [
        bin_ / "helm",
        "install",
        release["name"],
        release["chart"],
        "--repo",
        release["repository"],
        "--ca-file",
        release["caFile"],
        "--version",
        release["version"],
        "-n",
        release["namespace"],
        "--create-namespace",
        "-f",
        release["folder"] / "values.yaml",
    ]
    if sleep is None:
        argv += ["--wait", "--timeout", "10m"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"helm install {release['name']}: {done.stderr[-2000:]}")
    if sleep is not None and release["chart"] == "cert-manager":
        time.sleep(sleep)


def hand_steps(bin_: Path, stack: str, scratch: Path, *, sleep: float | None) -> dict:
    platform, config = _platform(bin_, stack)
    try:
        render = _render(stack, config, scratch / f"{stack}-hand-{sleep}")
        kube = platform.cluster.kube
        env = {**os.environ, "KUBECONFIG": str(platform.cluster.kubeconfig)}
        releases = [
            yaml.safe_load(p.read_text()) | {"folder": p.parent} for p in sorted(render.glob("helm/*/*/release.yaml"))
        ]
        releases.sort(key=lambda r: r["chart"] != "cert-manager")  # cert-manager first, as every guide does
        start = time.perf_counter()
        # Seed 001's order: cert-manager, then the issuers and Certificates, then the charts that read their
        # Secrets (Cilium's Hubble relay waits for its certificate; installed before its issuer, --wait times out).
        _helm_install(bin_, env, releases[0], sleep)
        credentials = next(render.glob("manifests/*/secret.core.*credentials*.yaml"))
        secret = yaml.safe_load(credentials.read_text())
        secret["stringData"] = {"secretId": SECRET_ID, "secretKey": SECRET_KEY}
        kube.apply(secret)
        pending = [
            yaml.safe_load(p.read_text()) for p in sorted(render.glob("manifests/**/*.yaml")) if p != credentials
        ]
        pending.sort(key=lambda o: {"Namespace": 0, "ClusterIssuer": 1, "Issuer": 1}.get(o["kind"], 2))
        deadline = time.monotonic() + 600
        while pending:  # `kubectl apply` again while the webhook is not ready yet (what a pasted loop does)
            obj = pending[0]
            if obj["kind"].endswith("Patch"):
                pending.pop(0)  # patches of objects the stack does not own: not part of the seeds' steps
                continue
            try:
                kube.apply(obj)
                pending.pop(0)
            except (ApiError, LookupError) as error:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"kubectl apply {obj['kind']}/{obj['metadata']['name']}: {error}") from error
                kube.forget_kinds()  # the chart's CRDs were just installed
                time.sleep(1)
        for release in releases[1:]:
            _helm_install(bin_, env, release, sleep)
        while not _all_ready(platform):
            if time.monotonic() > deadline + 600:
                raise RuntimeError("the Certificates were not all Ready 10 min after the last apply")
            time.sleep(0.2)
        return {"all_ready_s": time.perf_counter() - start}
    finally:
        platform.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stacks", default="staging,prod")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    bin_ = e2e_binaries(REPO)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="cluster-tls-bench-") as scratch:
        for stack in args.stacks.split(","):
            rows = results.setdefault(stack, {"pulumi_up": [], "hand_steps": [], "fixed_sleep_60s": []})
            for run in range(args.runs):
                base = Path(scratch) / f"{stack}-{run}"
                base.mkdir()
                rows["pulumi_up"].append(pulumi_up(bin_, stack, base))
                rows["hand_steps"].append(hand_steps(bin_, stack, base, sleep=None))
                rows["fixed_sleep_60s"].append(hand_steps(bin_, stack, base, sleep=60.0))
    report = {**header("real tier, tests/e2e/platform.py"), "runs": args.runs, "stacks": results}
    print(f"{'stack':8} {'way':16} {'to every Certificate Ready':>28}")
    for stack, rows in results.items():
        for way, samples in rows.items():
            times = ", ".join(f"{s['all_ready_s']:.1f} s" for s in samples)
            print(f"{stack:8} {way:16} {times:>28}")
    write(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
