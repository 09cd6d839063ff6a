"""Render a stack as another git revision would, with that revision's own code.

The revision's tree is exported into a temporary folder (`git archive`, the checkout is left alone) and its own
`cluster-tls render` runs there in a fresh interpreter: its modules come from that tree (following its
pyproject's package-dir mapping), the third-party packages from this environment.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import tomllib
from pathlib import Path

_BOOTSTRAP = r"""
import importlib.abc, importlib.machinery, importlib.util, sys
root, deps, mapping = sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3].split(",") if a)
sys.path[:0] = [root]
sys.path.append(deps)


class Mapped(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in mapping:
            folder = f"{root}/{mapping[name]}"
            init = f"{folder}/__init__.py"
            return importlib.util.spec_from_file_location(name, init, submodule_search_locations=[folder])
        return None


sys.meta_path.insert(0, Mapped())
from cluster_tls.cli import main
sys.exit(main(sys.argv[4:]))
"""


class RevisionError(Exception):
    pass


def _git(repo: Path, *args: str, binary: bool = False):
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=not binary)
    if result.returncode != 0:
        stderr = result.stderr if not binary else result.stderr.decode(errors="replace")
        raise RevisionError(f"git {' '.join(args)}: {stderr.strip() or 'failed'}")
    return result.stdout


def _package_dirs(tree: Path) -> dict[str, str]:
    pyproject = tree / "pyproject.toml"
    if not pyproject.is_file():
        return {}
    data = tomllib.loads(pyproject.read_text())
    mapping = data.get("tool", {}).get("setuptools", {}).get("package-dir", {})
    return {name: folder for name, folder in mapping.items() if name and folder != name.replace(".", "/")}


def _extract(tar: tarfile.TarFile, into: Path) -> None:
    """Unpack git's archive; members are refused if they would land outside `into` (Python < 3.11.4 has no
    extraction filters)."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(into, filter="data")
        return
    root = into.resolve()
    for member in tar.getmembers():
        target = (root / member.name).resolve()
        if root not in (target, *target.parents) or member.issym() and Path(member.linkname).is_absolute():
            raise RevisionError(f"archive member {member.name!r} would land outside the work folder")
    tar.extractall(into)  # noqa: S202 - members checked above


SALT_VARIABLE = "CLUSTER_TLS_SECRET_SALT"


def render_revision(repo: Path, ref: str, stack: str, out: Path, salt: bytes | None = None) -> dict[str, str]:
    """Render `stack` at git revision `ref` of the repository at `repo` into `out`; return the files.

    With `salt` (the diff's), secrets render as salted digests, so that a changed one shows as changed: the salt goes
    to that one child in its environment, with `--salted-for-diff`; a revision from before that flag reads the
    environment alone, so it is asked again without it.
    """
    commit = _git(repo, "rev-parse", "--verify", f"{ref}^{{commit}}").strip()
    prefix = _git(repo, "rev-parse", "--show-prefix").strip()
    archive = _git(repo, "archive", "--format=tar", commit, binary=True)
    with tempfile.TemporaryDirectory(prefix="cluster-tls-rev-") as scratch:
        tree = Path(scratch)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            _extract(tar, tree)
        project = tree / prefix
        mapping = ",".join(f"{k}={v}" for k, v in _package_dirs(project).items())
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_CONFIG", "PYTHONPATH", SALT_VARIABLE))}
        if salt is not None:
            env[SALT_VARIABLE] = salt.hex()
        argv = [
            sys.executable,
            "-S",
            "-c",
            _BOOTSTRAP,
            str(project),
            sysconfig.get_paths()["purelib"],
            mapping,
            "--project-dir",
            str(project),
            "render",
            "--stack",
            stack,
            "--out",
            str(out),
        ]
        flag = ["--salted-for-diff"] if salt is not None else []
        result = subprocess.run([*argv, *flag], capture_output=True, text=True, env=env)
        if flag and result.returncode == 2 and "--salted-for-diff" in result.stderr:  # an older revision
            result = subprocess.run(argv, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise RevisionError(f"rendering stack {stack!r} at {ref} ({commit[:12]}) failed: {result.stderr.strip()}")
    return {str(p.relative_to(out)): p.read_text() for p in sorted(out.rglob("*.yaml"))}
