"""The package as another program gets it: a built wheel, installed outside this repository."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.support.wheel import build_wheel

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh interpreter environment: the wheel unpacked, the locked dependencies from this venv's
    site-packages (by a .pth line, so this checkout's editable install is not on the path)."""
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    (target / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return target


def _python(installed: Path, code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_CONFIG", "PYTHON"))}
    # -S: no site-packages of this venv (they hold the editable finder); the .pth above is read by addsitedir.
    bootstrap = f"import site; site.addsitedir({str(installed)!r}); exec(compile({code!r}, 'consumer', 'exec'))"
    return subprocess.run([sys.executable, "-S", "-c", bootstrap], cwd=cwd, env=env, capture_output=True, text=True)


def test_the_wheel_adds_one_top_level_import_name_and_type_information(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"cluster_tls"}
    assert "cluster_tls/py.typed" in names
    assert "cluster_tls/components/selfsigned_ca.py" in names
    assert "cluster_tls/stacks/program.py" in names


def test_a_consumer_with_its_own_components_folder_uses_the_installed_package(installed, tmp_path):
    (tmp_path / "components").mkdir()
    (tmp_path / "components" / "__init__.py").write_text("MINE = 'the consumer own components'\n")
    code = """
import sys
sys.path.insert(0, '.')
import components
from cluster_tls import __version__
from cluster_tls.components import SelfSignedCAChain, SelfSignedCAChainArgs
from cluster_tls.mockrun import run_program

def program():
    SelfSignedCAChain("platform-ca", SelfSignedCAChainArgs(scope="cluster"))

evaluation = run_program(program)
assert components.MINE == 'the consumer own components'
print(__import__("cluster_tls").__file__)
print(sorted(r.name for r in evaluation.registrations))
"""
    result = _python(installed, code, tmp_path)
    assert result.returncode == 0, result.stderr
    where, names = result.stdout.splitlines()
    assert where.startswith(str(installed)), where
    assert names == str(
        ["platform-ca", "platform-ca-ca-certificate", "platform-ca-ca-issuer", "platform-ca-selfsigned-issuer"]
    )


def test_the_installed_wheel_renders_the_example_program_outside_the_repository(installed, tmp_path):
    import shutil

    example = tmp_path / "platform"
    shutil.copytree(REPO / "examples" / "platform", example)
    out = tmp_path / "rendered"
    code = f"""
import sys
from cluster_tls.cli import main
code = main(["render", "--program", {str(example)!r}, "--stack", "dev", "--out", {str(out)!r}])
print(__import__("cluster_tls").__file__)
sys.exit(code)
"""
    result = _python(installed, code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith(str(installed))
    assert (out / "manifests/istio-system/gateway.networking.istio.io.blog.yaml").is_file()
    assert (out / "outputs/platform-ca.yaml").is_file()


def test_every_module_and_sample_of_the_repository_is_in_the_wheel(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for folder, package in (
        ("cluster_tls", "cluster_tls"),
        ("components", "cluster_tls/components"),
        ("stacks", "cluster_tls/stacks"),
    ):
        for source in (REPO / folder).rglob("*"):
            if source.suffix in (".py", ".yaml") and "__pycache__" not in source.parts:
                assert f"{package}/{source.relative_to(REPO / folder).as_posix()}" in names, source


@pytest.fixture(scope="module")
def venv_with_wheel(wheel, tmp_path_factory) -> Path:
    """A real virtual environment as a team gets from `pip install cluster-tls`: the wheel in its site-packages, the
    locked dependencies from this venv's (by a .pth line, so this checkout's editable finder is not loaded)."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    (site,) = venv.glob("lib/python*/site-packages")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin" / "python"


def test_a_pull_request_review_in_a_repository_that_installs_the_package(venv_with_wheel, tmp_path):
    # Issue 20: `diff --against-ref` from a team's own repository, with the package installed, not checked out.
    from .support.repository import committed_copy

    repo = committed_copy(REPO / "examples" / "platform", tmp_path / "platform")
    stack = repo / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace("apps.example.internal", "apps.example.org"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_CONFIG", "PYTHON"))}
    review = [
        venv_with_wheel,
        "-m",
        "cluster_tls.cli",
        "diff",
        "--program",
        ".",
        "--stack",
        "dev",
        "--against-ref",
        "HEAD",
    ]
    result = subprocess.run(review, cwd=repo, env=env, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "Error" not in result.stderr, result.stderr
    assert 'spec.dnsNames[0]: "shop.apps.example.internal" -> "shop.apps.example.org"' in result.stdout
    where = subprocess.run(
        [venv_with_wheel, "-c", "import cluster_tls; print(cluster_tls.__file__)"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.stdout.startswith(str(venv_with_wheel.parent.parent)), where


def _closure(requirement: str, seen: set[str] | None = None) -> set[str]:
    """The installed distributions `requirement` pulls in (markers evaluated here, extras not followed)."""
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen = set() if seen is None else seen
    name = canonicalize_name(requirement)
    if name in seen:
        return seen
    seen.add(name)
    try:
        needs = requires(name) or []
    except PackageNotFoundError:
        return seen
    for text in needs:
        needed = Requirement(text)
        if needed.marker is None or needed.marker.evaluate({"extra": ""}):
            _closure(needed.name, seen)
    return seen


def _pins(lock: str) -> set[str]:
    from packaging.utils import canonicalize_name

    lines = (REPO / lock).read_text().splitlines()
    return {canonicalize_name(line.split("==")[0]) for line in lines if "==" in line}


def test_the_main_job_installs_what_the_package_runs_and_the_tests_add_their_tools():
    # issue 20: the first `make preview` took 3 min 16 s installing pytest, zizmor, ruff ... it never runs.
    runtime, tools = _pins("requirements.lock"), _pins("requirements-test.lock")
    assert runtime == _closure("cluster-tls") - {"cluster-tls"}
    assert not runtime & tools
    assert {"pytest", "ruff", "zizmor", "kubernetes-validate", "check-jsonschema"} <= tools
