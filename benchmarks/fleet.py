"""Fleet-scale offline evaluation: `render` of a synthetic fleet built from the real components, against the
floor (the same objects dumped with PyYAML's C dumper), the same objects through Pulumi's mock runtime as raw
CustomResources with no package code, and cdk8s building and synthesizing the same objects (when installed).

    .venv/bin/python benchmarks/fleet.py [--sizes 100,1000,3000,10000] [--rounds 5] [--json out.json] [--quick]

Each measurement runs in its own process (peak memory is that process's); medians of `--rounds`. The fleet:
one cert-manager, one private CA, and per tenant namespace an Istio gateway for each of its hosts (Certificate,
Gateway, VirtualService), so the object count is about 3 x tenants x hosts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from report import header, write

HERE = Path(__file__).resolve().parent
# cdk8s (PyPI, runs on Node through jsii) lives in its own environment: `make bench-setup` creates it.
CDK8S_PYTHON = Path(os.environ.get("CDK8S_PYTHON", HERE.parent / ".venv-cdk8s" / "bin" / "python"))


def fleet_program(tenants: int, hosts: int):
    def program() -> None:
        import pulumi

        from cluster_tls.components import CertManagerInstall, IstioHTTPSGateway, SelfSignedCAChain

        install = CertManagerInstall("cert-manager", {})
        context = install.cluster_context()
        after = pulumi.ResourceOptions(depends_on=[install])
        ca = SelfSignedCAChain("fleet-ca", {"scope": "cluster"}, after, context=context)
        for t in range(tenants):
            for h in range(hosts):
                name = f"t{t}-h{h}"
                IstioHTTPSGateway(
                    name,
                    {
                        "name": name,
                        "hosts": [f"h{h}.t{t}.example.com"],
                        "backend": {"service": f"svc{h}", "port": 8080, "namespace": f"tenant-{t}"},
                        "issuer": ca.issuer_ref,
                        "allowSharedCertificate": True,
                    },
                    pulumi.ResourceOptions(depends_on=[install, ca]),
                    context=context,
                )

    return program


def shape(objects: int) -> tuple[int, int]:
    hosts = 10
    return max(1, round((objects - 4) / 3 / hosts)), hosts


def measure(kind: str, objects: int, out: Path) -> dict:
    """One measurement, in this process. `package` is timed as `cluster-tls render` runs: from importing the
    package to the files written (the process is one-shot, as the CLI is: run_program(leave_garbage=True)); it
    then leaves the objects it rendered for the other kinds, untimed."""
    start = time.perf_counter()
    tenants, hosts = shape(objects)
    documents_file = out / f"documents-{objects}.json"
    if kind == "package":
        from cluster_tls.cli import write_render
        from cluster_tls.manifests import render_files
        from cluster_tls.mockrun import run_program

        evaluation = run_program(fleet_program(tenants, hosts), offline=True, leave_garbage=True)
        files = render_files(evaluation)
        write_render(files, out / f"render-{objects}")
        seconds = time.perf_counter() - start
        import yaml

        manifests = [files[p] for p in sorted(files) if p.startswith("manifests/")]
        documents_file.write_text(json.dumps([yaml.load(m, Loader=yaml.CSafeLoader) for m in manifests]))
        count = len(manifests)
    else:
        import yaml

        documents = json.loads(documents_file.read_text())
        count = len(documents)
        start = time.perf_counter()
        if kind == "floor":
            for document in documents:
                yaml.dump(document, Dumper=yaml.CSafeDumper, sort_keys=True, default_flow_style=False)
        elif kind == "raw-pulumi":
            import pulumi_kubernetes as k8s

            from cluster_tls.mockrun import run_program

            def raw() -> None:
                for i, d in enumerate(documents):
                    k8s.apiextensions.CustomResource(
                        f"o{i}", api_version=d["apiVersion"], kind=d["kind"], metadata=d["metadata"], spec=d.get("spec")
                    )

            # The SDK's own registration path: nothing of the package's offline runner but the recording.
            run_program(raw, offline=True, direct=False)
        elif kind == "cdk8s":
            script = HERE / "cdk8s_synth.py"
            result = subprocess.run(
                [str(CDK8S_PYTHON), str(script), str(documents_file), str(out / "cdk8s")],
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise RuntimeError(result.stderr[-2000:])
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if kind == "cdk8s":
        peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return {"kind": kind, "objects": count, "seconds": seconds, "peak_mib": peak}


def run_one(kind: str, objects: int, out: Path) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--measure", kind, "--objects", str(objects), "--out", str(out)],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("PULUMI_CONFIG")},
    )
    if result.returncode != 0:
        raise RuntimeError(f"{kind} at {objects}: {result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def scratch_cost(files: int = 300) -> dict:
    """Milliseconds to create one small file in the scratch folder."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        for i in range(files):
            (Path(scratch) / f"f{i}.yaml").write_text("kind: ConfigMap\n")
        return {
            "folder": tempfile.gettempdir(),
            "ms_per_new_file": round((time.perf_counter() - start) / files * 1000, 3),
        }


def cdk8s_available() -> bool:
    return (
        CDK8S_PYTHON.is_file()
        and subprocess.run([str(CDK8S_PYTHON), "-c", "import cdk8s"], capture_output=True).returncode == 0
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,3000,10000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round: keeps the script from rotting")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--objects", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.objects, args.out)))
        return
    sizes = [40, 100] if args.quick else [int(s) for s in args.sizes.split(",")]
    rounds = 1 if args.quick else args.rounds
    kinds = ["package", "floor", "raw-pulumi"] + (["cdk8s"] if cdk8s_available() else [])
    import tempfile

    rows = []
    # Scratch space is tempfile's (TMPDIR). Its cost of creating a file is measured and reported: `render` writes a
    # file per object and cdk8s one per chart, so a slow file system is timed along with the renderers (on these
    # sandboxes /tmp and /work pay ~0.9 ms per new file, /dev/shm ~0.02 ms; the committed run used TMPDIR=/dev/shm).
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        for size in sizes:
            samples: dict[str, list[dict]] = {k: [] for k in kinds}
            for _ in range(rounds):
                for kind in kinds:  # interleaved: a noisy moment hits every kind alike
                    samples[kind].append(run_one(kind, size, out))
            row = {"objects": samples["package"][0]["objects"]}
            for kind in kinds:
                row[kind] = statistics.median(s["seconds"] for s in samples[kind])
                row[f"{kind}_peak_mib"] = statistics.median(s["peak_mib"] for s in samples[kind])
            rows.append(row)
            print(json.dumps(row), flush=True)
    report = {**header(), "rounds": rounds, "scratch": scratch_cost(), "rows": rows}
    print(table(report))
    write(args.json, report)


def table(report: dict) -> str:
    rows = report["rows"]
    kinds = [k for k in ("package", "raw-pulumi", "cdk8s", "floor") if k in rows[0]]
    lines = [
        "| objects | "
        + " | ".join(kinds)
        + " | package/cdk8s | package/floor | package ms per object | package peak MiB |",
        "|---" * (len(kinds) + 5) + "|",
    ]
    for row in rows:
        cells = [f"{row[k]:.2f} s" for k in kinds]
        versus = f"{row['package'] / row['cdk8s']:.2f}x" if "cdk8s" in row else "-"
        lines.append(
            f"| {row['objects']} | "
            + " | ".join(cells)
            + f" | {versus} | {row['package'] / row['floor']:.1f}x | {row['package'] / row['objects'] * 1000:.2f} | {row['package_peak_mib']:.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
