"""The real-engine tier (`make e2e`): real Pulumi CLI and provider against a real API server and cert-manager.

Binaries come from tools/e2e/build.sh (cached outside the work tree). Without them, or without ../shared, these
tests fail under CI and skip elsewhere, like the rest of the suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.engine import REPO, Engine

PARTS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "cert-manager-controller",
    "cert-manager-webhook",
    "cert-manager-cainjector",
    "cert-manager-startupapicheck",
    "dnspod-standin",
    "pebble",
    "boulder-judge",
    "pulumi",
    "pulumi-resource-kubernetes",
    "helm",
)


def _missing(message: str):
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def e2e_bin() -> Path:
    """The bin folder of tools/e2e/build.sh; `make e2e` builds it first and passes it in CLUSTER_TLS_E2E_BIN."""
    given = os.environ.get("CLUSTER_TLS_E2E_BIN")
    if given:
        folder = Path(given)
    else:
        built = subprocess.run([REPO / "tools/e2e/build.sh"], capture_output=True, text=True)
        if built.returncode:
            _missing(f"tools/e2e/build.sh failed:\n{built.stderr[-3000:]}")
        folder = Path(built.stdout.strip().splitlines()[-1])
    absent = [p for p in PARTS if not (folder / p).is_file()]
    if absent:
        _missing(f"real-engine binaries missing from {folder}: {', '.join(absent)} (run tools/e2e/build.sh)")
    return folder


@pytest.fixture(scope="session")
def shared_crds(shared: Path) -> dict[str, list[Path]]:
    crds = shared / "schemas" / "crds"
    return {
        "istio": sorted((crds / "istio").glob("*.yaml")),
        "gateway-api": sorted((crds / "gateway-api").glob("*.yaml")),
        "whizard-v0.10.3": sorted((crds / "whizard" / "v0.10.3").glob("*.yaml")),
        "whizard-v0.9.0": sorted((crds / "whizard" / "v0.9.0-legacy").glob("*.yaml")),
    }


@pytest.fixture(scope="session")
def cluster(e2e_bin: Path, shared_crds: dict[str, list[Path]]):
    cert_manager_crds = sorted((e2e_bin.parent / "cert-manager-crds").glob("*.yaml"))
    if not cert_manager_crds:
        _missing(f"cert-manager's CRDs are missing from {e2e_bin.parent} (run tools/e2e/build.sh cert-manager)")
    started = Cluster(bin=e2e_bin, crds=cert_manager_crds + shared_crds["istio"] + shared_crds["gateway-api"])
    started.start()
    try:
        started.kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}})
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def engine(e2e_bin: Path, cluster: Cluster, tmp_path_factory) -> Engine:
    made = Engine(bin=e2e_bin, home=tmp_path_factory.mktemp("pulumi"), kubeconfig=cluster.kubeconfig)
    made.prepare()
    return made


@pytest.fixture(scope="session")
def policy_pack(e2e_bin: Path, tmp_path_factory) -> Path:
    """policy/ with its virtual environment made the way the README says (cached beside the binaries), as the
    executable analyzer the CLI starts without a python language plugin (tools/e2e/policy-analyzer)."""
    venv = e2e_bin.parent / "policy-venv"
    # The package's own dependencies count too: the cached venv gets only this checkout's code (--no-deps) below.
    requirements = (REPO / "policy" / "requirements.lock").read_text() + (REPO / "pyproject.toml").read_text()
    stamp = venv / ".requirements"
    if not stamp.is_file() or stamp.read_text() != requirements:
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        pip = [venv / "bin/pip", "install", "--quiet", "--disable-pip-version-check"]
        locked = ["--require-hashes", "--only-binary=:all:", "-r", REPO / "policy/requirements.lock"]
        subprocess.run([*pip, *locked], check=True)
        subprocess.run([*pip, "--no-deps", "--no-build-isolation", REPO], check=True)
        stamp.write_text(requirements)
    else:  # this checkout's code, whatever was installed before
        subprocess.run(
            [
                venv / "bin/pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--no-build-isolation",
                "--force-reinstall",
                REPO,
            ],
            check=True,
            capture_output=True,
        )
    pack = tmp_path_factory.mktemp("policy") / "policy"
    shutil.copytree(REPO / "policy", pack, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    (pack / "venv").symlink_to(venv)
    shutil.copy(REPO / "tools/e2e/policy-analyzer", pack / "policy-analyzer")  # see its comment
    return pack / "policy-analyzer"


def _embedded(binary: Path, module: str) -> str:
    """The upstream module version a binary was built from (`go version -m`) and the version it was linked with
    (tools/e2e/build.sh writes VERSIONS beside the binaries)."""
    info = subprocess.run(["go", "version", "-m", binary], capture_output=True, text=True).stdout
    dep = next((line.split()[2] for line in info.splitlines() if line.split()[1:2] == [module]), "?")
    linked = dict(
        line.split(" ", 1) for line in (binary.parent / "VERSIONS").read_text().splitlines() if " " in line
    ).get("cert-manager" if binary.name.startswith("cert-manager") else binary.name, "")
    return f"{linked} ({module} {dep})" if linked else dep


def pytest_report_header(config):
    folder = os.environ.get("CLUSTER_TLS_E2E_BIN")
    if not folder:
        return None
    bin_ = Path(folder)

    def first_line(*argv: str) -> str:
        done = subprocess.run([bin_ / argv[0], *argv[1:]], capture_output=True, text=True)
        return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr) else "?"

    provider = _embedded(bin_ / "pulumi-resource-kubernetes", "github.com/pulumi/pulumi-kubernetes/provider/v4")
    cert_manager = _embedded(bin_ / "cert-manager-controller", "github.com/cert-manager/cert-manager")
    processes = ", ".join(
        f"{part} {_embedded(bin_ / f'cert-manager-{part}', 'github.com/cert-manager/cert-manager')}"
        for part in ("webhook", "cainjector", "startupapicheck")
    )
    return [
        f"real engine from {bin_}:",
        f"  pulumi CLI {first_line('pulumi', 'version')}",
        f"  pulumi-resource-kubernetes {provider}",
        f"  kube-apiserver {first_line('kube-apiserver', '--version')}, kube-controller-manager "
        f"{first_line('kube-controller-manager', '--version')}",
        f"  {first_line('etcd', '--version')}",
        f"  cert-manager controller {cert_manager}; {processes}",
        f"  DNSPod stand-in (ours, cert-manager's webhook framework "
        f"{_embedded(bin_ / 'dnspod-standin', 'github.com/cert-manager/cert-manager')})",
        f"  kube-scheduler {first_line('kube-scheduler', '--version')}, {first_line('kwok', '--version')}",
        f"  {first_line('pebble', '-version')}",
        f"  helm {first_line('helm', 'version', '--short')}",
        f"  Python SDK pulumi {version('pulumi')}, pulumi-kubernetes {version('pulumi_kubernetes')}",
    ]
