"""Reviewing a fleet of stacks on a pull request (issue 21): whole processes, medians, ratios from one run.

    .venv/bin/python benchmarks/fleet_review.py [--sizes 1,10,50,200] [--rounds 3] [--json out.json] [--quick]

A synthetic repository per size: this checkout (tracked and untracked files, as `git ls-files` lists them) with N
stack files, variants of prod and staging (stack i takes prod or staging with its hosts under c<i>.example.com),
committed as the base. Every command is `cluster-tls` run with the repository's own code, as a checkout installed
with `pip install -e` runs (cluster_tls.revision.own_code_command). Measured per size:

- `diff --all-stacks --against-ref BASE --format markdown` after one stack file changed, and the same review of that
  stack alone (`--stack s0`): their ratio is the cost of the other N-1 stacks;
- the same whole review after one line of package code changed (every stack evaluated at both sides): seconds per
  stack per side;
- `render --all-stacks` and `check --all-stacks`;
- the review before issue 21 (revision BEFORE: per-stack child processes, every stack at both sides) up to
  `--before-max` stacks; and whether this code's sequential review (every stack at both sides, one worker) prints
  the same markdown byte for byte.

Per stack, for comparison: `helm template` of a chart of one template emitting the stack's rendered objects from
its values; `cdk8s synth` of the same objects (`make bench-setup`); and, when the real-engine binaries are built
(`tools/e2e/build.sh`), `pulumi preview` of the dev stack on the real engine (benchmarks/real_engine.py).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import yaml
from report import header, write

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cluster_tls.revision import own_code_command  # noqa: E402

CDK8S_PYTHON = Path(os.environ.get("CDK8S_PYTHON", REPO / ".venv-cdk8s" / "bin" / "python"))
E2E_BIN = Path(os.environ.get("CLUSTER_TLS_E2E_BIN", Path.home() / ".cache" / "cluster-tls-e2e" / "bin"))
BEFORE = "39804a2"  # the last revision before issue 21's review
CODE_LINE = ('"name": "https", "protocol": "HTTPS"', '"name": "https-main", "protocol": "HTTPS"')


def git(root: Path, *args: str) -> str:
    command = ["git", "-C", str(root), "-c", "user.email=b@example.com", "-c", "user.name=bench", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def copy_checkout(source: Path, into: Path, revision: str | None = None) -> None:
    """The working tree's files (or a revision's), without environments, caches or git's own folder."""
    if revision is not None:
        archive = subprocess.run(["git", "-C", str(source), "archive", revision], check=True, capture_output=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(into, filter="data")
        return
    listed = git(source, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in filter(None, listed):
        path = source / name
        if path.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, into / name)


def stack_variant(index: int) -> str:
    template = (REPO / "stacks" / ("Pulumi.prod.yaml" if index % 2 == 0 else "Pulumi.staging.yaml")).read_text()
    return template.replace("example.com", f"c{index}.example.com").replace(
        "clusterName: staging", f"clusterName: c{index}"
    )


def fleet(root: Path, stacks: int, revision: str | None = None) -> Path:
    copy_checkout(REPO, root, revision)
    for old in (root / "stacks").glob("Pulumi.*.yaml"):
        old.unlink()
    for index in range(stacks):
        (root / "stacks" / f"Pulumi.s{index}.yaml").write_text(stack_variant(index))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def cluster_tls(root: Path, *args: str, workers: str | None = None) -> tuple[float, subprocess.CompletedProcess]:
    env = {k: v for k, v in os.environ.items() if k != "CLUSTER_TLS_WORKERS"}
    env["CLUSTER_TLS_CACHE"] = str(root.parent / f"{root.name}-review-cache")
    if workers:
        env["CLUSTER_TLS_WORKERS"] = workers
    start = time.perf_counter()
    result = subprocess.run(
        [*own_code_command(root), "--project-dir", str(root), *args], capture_output=True, text=True, env=env
    )
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise RuntimeError(f"cluster-tls {' '.join(args)} in {root}: exit {result.returncode}: {result.stderr[-2000:]}")
    return elapsed, result


def change_one_stack(root: Path) -> None:
    stack = root / "stacks" / "Pulumi.s0.yaml"
    stack.write_text(stack.read_text().replace("shop.c0.", "store.c0."))


def change_package_code(root: Path) -> None:
    program = root / "components" / "istio_gateway.py"
    text = program.read_text()
    assert CODE_LINE[0] in text, "the benchmark's code change no longer applies"
    program.write_text(text.replace(*CODE_LINE))


def revert(root: Path) -> None:
    git(root, "checkout", "-q", "--", ".")


def median(samples: list[float]) -> float:
    return round(statistics.median(samples), 3)


REVIEW = ["diff", "--all-stacks", "--against-ref", "HEAD", "--format", "markdown"]
ALONE = ["diff", "--stack", "s0", "--against-ref", "HEAD", "--format", "markdown"]


def measure_size(stacks: int, rounds: int, scratch: Path, before_max: int) -> dict:
    root = fleet(scratch / f"fleet-{stacks}", stacks)
    kinds = ("review", "review_cold", "alone", "code_review", "render_all", "check_all")
    samples: dict[str, list[float]] = {k: [] for k in kinds}
    cache = root.parent / f"{root.name}-review-cache"
    markdown = ""
    for _ in range(rounds):  # interleaved, so that a slow moment of the machine is shared out
        # warm: the records of the base's own review, as CI restores them from the target branch's run
        shutil.rmtree(cache, ignore_errors=True)
        cluster_tls(root, *REVIEW)
        change_one_stack(root)
        seconds, result = cluster_tls(root, *REVIEW)
        samples["review"].append(seconds)
        markdown = result.stdout
        # cold: no record at all, every stack evaluated here, only the changed one at the base
        shutil.rmtree(cache, ignore_errors=True)
        seconds, cold = cluster_tls(root, *REVIEW)
        assert cold.stdout == markdown, "the review with and without records differ"
        samples["review_cold"].append(seconds)
        samples["alone"].append(cluster_tls(root, *ALONE)[0])
        revert(root)
        change_package_code(root)
        samples["code_review"].append(cluster_tls(root, *REVIEW)[0])
        revert(root)
        out = scratch / f"render-{stacks}"
        samples["render_all"].append(cluster_tls(root, "render", "--all-stacks", "--out", str(out))[0])
        shutil.rmtree(out)
        samples["check_all"].append(cluster_tls(root, "check", "--all-stacks")[0])
    figures = {key: median(values) for key, values in samples.items()}
    figures["review_over_alone"] = round(figures["review"] / figures["alone"], 2)
    figures["review_cold_over_alone"] = round(figures["review_cold"] / figures["alone"], 2)
    figures["code_review_s_per_stack_per_side"] = round(figures["code_review"] / (2 * stacks), 3)
    figures["samples"] = samples
    if stacks <= before_max:
        figures.update(measure_before(stacks, rounds, scratch, markdown))
    return figures


def measure_before(stacks: int, rounds: int, scratch: Path, markdown: str) -> dict:
    """The review as it was before issue 21, on a fleet built from that revision's own tree; and this code's review
    done the old way (every stack at both sides, one after another: this checkout's CLI, whose code is outside the
    fleet's repository, with one worker), which must print the same document byte for byte."""
    root = fleet(scratch / f"before-{stacks}", stacks, BEFORE)
    change_one_stack(root)
    try:
        before: float | str = median([cluster_tls(root, *REVIEW)[0] for _ in range(rounds)])
    except RuntimeError as error:  # today's stack files name rules that revision does not have
        before = f"not measured: {str(error)[-160:]}"
    same = scratch / f"fleet-{stacks}"
    change_one_stack(same)
    sequential = subprocess.run(
        [sys.executable, "-m", "cluster_tls.cli", "--project-dir", str(same), *REVIEW],
        capture_output=True,
        text=True,
        env={**os.environ, "CLUSTER_TLS_WORKERS": "1"},
    )
    revert(same)
    return {"before_review": before, "sequential_markdown_identical": sequential.stdout == markdown}


def per_stack_tools(scratch: Path, samples: int) -> dict:
    """helm template and cdk8s synth per stack, on the objects a stack renders."""
    root = fleet(scratch / "tools", 2)
    figures: dict[str, float | str] = {}
    objects = {}
    for stack in ("s0", "s1"):
        out = scratch / "tools-render" / stack
        cluster_tls(root, "render", "--stack", stack, "--out", str(out))
        objects[stack] = [yaml.safe_load(p.read_text()) for p in sorted((out / "manifests").rglob("*.yaml"))]
    helm = E2E_BIN / "helm"
    if helm.is_file():
        chart = scratch / "chart"
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text("apiVersion: v2\nname: fleet-stack\nversion: 0.1.0\n")
        (chart / "templates" / "objects.yaml").write_text(
            "{{- range .Values.objects }}\n---\n{{ toYaml . }}\n{{- end }}\n"
        )
        runs = []
        for index in range(samples):
            values = scratch / f"values-{index}.json"
            values.write_text(json.dumps({"objects": objects[f"s{index % 2}"]}))
            start = time.perf_counter()
            subprocess.run([helm, "template", "fleet", chart, "-f", values], check=True, capture_output=True)
            runs.append(time.perf_counter() - start)
        figures["helm_template_s_per_stack"] = median(runs)
    else:
        figures["helm_template_s_per_stack"] = f"not measured: no {helm} (tools/e2e/build.sh builds it)"
    if CDK8S_PYTHON.is_file():
        runs = []
        for index in range(samples):
            documents = scratch / f"documents-{index}.json"
            documents.write_text(json.dumps(objects[f"s{index % 2}"]))
            start = time.perf_counter()
            subprocess.run(
                [CDK8S_PYTHON, REPO / "benchmarks" / "cdk8s_synth.py", documents, scratch / f"cdk8s-{index}"],
                check=True,
                capture_output=True,
            )
            runs.append(time.perf_counter() - start)
        figures["cdk8s_synth_s_per_stack"] = median(runs)
    else:
        figures["cdk8s_synth_s_per_stack"] = f"not measured: no {CDK8S_PYTHON} (make bench-setup)"
    return figures


def real_engine_preview(scratch: Path) -> float | str:
    if not (E2E_BIN / "pulumi").is_file():
        return f"not measured: no {E2E_BIN / 'pulumi'} (tools/e2e/build.sh builds it)"
    report = scratch / "real_engine.json"
    subprocess.run(
        [sys.executable, REPO / "benchmarks" / "real_engine.py", "--runs", "1", "--stacks", "dev", "--json", report],
        check=True,
        capture_output=True,
    )
    return json.loads(report.read_text())["stacks"]["dev"]["pulumi_preview_s"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,50,200")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before-max", type=int, default=10, help="largest fleet reviewed the way before issue 21")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--quick", action="store_true", help="one small round of everything: that it runs")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rounds = args.rounds
    if args.quick:
        sizes, rounds, args.before_max = [2], 1, 0
    with tempfile.TemporaryDirectory(prefix="cluster-tls-fleet-review-") as folder:
        scratch = Path(folder)
        results = {str(n): measure_size(n, rounds, scratch, args.before_max) for n in sizes}
        tools = per_stack_tools(scratch, 2 if args.quick else 6)
        tools["pulumi_preview_real_engine_s_per_stack"] = (
            "skipped (--quick)" if args.quick else real_engine_preview(scratch)
        )
    report = {
        **header(f"{len(os.sched_getaffinity(0))} usable cores"),
        "rounds": rounds,
        "sizes": results,
        "per_stack": tools,
    }
    print(
        f"{'stacks':>6} {'review':>8} {'cold':>7} {'alone':>7} {'ratio':>6} {'cold':>6} {'code change':>12} "
        f"{'s/stack/side':>13} {'render all':>11} {'check all':>10} {'before':>8}"
    )
    for n, r in results.items():
        before = f"{r['before_review']:.2f}s" if isinstance(r.get("before_review"), float) else "-"
        print(
            f"{n:>6} {r['review']:>7.2f}s {r['review_cold']:>6.2f}s {r['alone']:>6.2f}s {r['review_over_alone']:>5.2f}x "
            f"{r['review_cold_over_alone']:>5.2f}x {r['code_review']:>11.2f}s "
            f"{r['code_review_s_per_stack_per_side']:>12.3f}s {r['render_all']:>10.2f}s {r['check_all']:>9.2f}s {before:>8}"
        )
    print(json.dumps(tools, indent=2))
    write(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
