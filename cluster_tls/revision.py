"""Render a stack as another git revision would, with that revision's own code.

The revision's tree is written from git's objects into a temporary folder (cluster_tls/gittree.py; the checkout is
left alone) and its own `cluster-tls render` runs there in a fresh interpreter: its modules come from that tree
(following its pyproject's package-dir mapping; a package installed editable from the repository is imported from
the tree's copy of it), the third-party packages from this environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from .gittree import GitTreeError, Tree

# The start of a child that runs a tree's own code: the tree first on sys.path, its pyproject's package-dir mapping
# honoured. The site folder stays on: a package installed with `pip install -e` is found through its .pth finder,
# which comes after the tree's own folders, so the tree's code wins wherever it has its own (issue 20).
_PRELUDE = r"""
import contextlib, ctypes, importlib.abc, importlib.util, io, json, os, signal, sys
spec = json.loads(sys.argv[1])
root, mapping = spec["root"], spec["mapping"]
if spec.get("parent"):  # die with the review that started this (prctl PR_SET_PDEATHSIG)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != spec["parent"]:
        raise SystemExit(1)


def _in_tree(path):
    # A path into the repository (a package installed editable from it, a .pth entry) -> the tree's copy of it.
    top = spec.get("top")
    if top and isinstance(path, str) and (path == top or path.startswith(top + "/")):
        return spec["tree"] + path[len(top):]
    return path


sys.path[:] = [root] + [_in_tree(entry) for entry in sys.path]
for name, module in list(sys.modules.items()):
    found = getattr(module, "MAPPING", None)
    if name.startswith("__editable__") and isinstance(found, dict):  # setuptools' editable finders
        found.update({key: _in_tree(value) for key, value in found.items()})


class Mapped(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in mapping:
            folder = f"{root}/{mapping[name]}"
            init = f"{folder}/__init__.py"
            return importlib.util.spec_from_file_location(name, init, submodule_search_locations=[folder])
        return None


sys.meta_path.insert(0, Mapped())
"""

# `cluster-tls` with the code of the tree named in the spec (tests and benchmarks run a copy of the repository so).
_OWN_CLI = (
    _PRELUDE
    + r"""
from cluster_tls.cli import entry_point
sys.argv[1:] = sys.argv[2:]
raise SystemExit(entry_point())
"""
)

# A revision's renders: it imports once and renders every stack in workers forked from that start
# (cluster_tls/pool.py, loaded from this checkout: standard library only).
_BOOTSTRAP = (
    _PRELUDE
    + r"""
try:
    from cluster_tls.cli import main
except Exception as error:
    json.dump({"error": f"cannot import cluster_tls there: {type(error).__name__}: {error}"}, sys.stdout)
    raise SystemExit(0)
found = importlib.util.spec_from_file_location("_cluster_tls_pool", spec["pool"])
pool = importlib.util.module_from_spec(found)
sys.modules[found.name] = pool
found.loader.exec_module(pool)


def render(stack):
    argv = [*spec["cli"], "render", "--stack", stack, "--out", f"{spec['out']}/{stack}"]
    for flags in ([["--salted-for-diff"]] if spec["salted"] else []) + [[]]:
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            try:
                code = main([*argv, *flags])
            except SystemExit as stop:
                code = stop.code
        # A revision from before --salted-for-diff reads the salt from the environment alone: ask it again.
        if not (flags and code == 2 and "--salted-for-diff" in err.getvalue()):
            return [code, err.getvalue()]


# The stacks to render come once the review knows which need it (it evaluates the working tree meanwhile).
stacks = json.loads(sys.stdin.readline() or "[]")
# No progress of its own: the parent shows the review's (two counters on one terminal line would garble it).
quiet = io.StringIO()
outcomes = pool.run_all(stacks, render, lambda e: f"{type(e).__name__}: {e}", progress_stream=quiet)
json.dump({"stacks": {o.item: o.value if o.error is None else [3, o.error] for o in outcomes}}, sys.stdout)
"""
)

POOL_SOURCE = Path(__file__).resolve().parent / "pool.py"


def own_code_command(project: Path) -> list[str]:
    """The command line of `cluster-tls` running the code of the project folder `project` (its pyproject's layout),
    as a checkout installed with `pip install -e` runs its own."""
    spec = {"root": str(project), "mapping": _package_dirs(project)}
    return [sys.executable, "-c", _OWN_CLI, json.dumps(spec)]


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


SALT_VARIABLE = "CLUSTER_TLS_SECRET_SALT"


def resolve_commit(repo: Path, ref: str) -> str:
    return _git(repo, "rev-parse", "--verify", f"{ref}^{{commit}}").strip()


SCRATCH_PREFIX = "cluster-tls-rev-"


def _sweep_stale_scratch() -> None:
    """Remove scratch folders left by reviews that were killed (SIGKILL gives no chance to clean up): each is
    named after the process that made it, and is removed once that process is gone."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name[len(SCRATCH_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or not folder.is_dir() or folder.is_symlink() or folder.stat().st_uid != os.getuid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass


class RevisionRender:
    """Render stacks at git revision `ref` with that revision's own code, in one child process started at once: it
    imports that code while this process evaluates the working tree, and renders the stacks `render()` names;
    `results()` waits for it.

    With `salt` (the diff's), secrets render as salted digests, so that a changed one shows as changed: the salt goes
    to that one child in its environment, with `--salted-for-diff`. `cli` are the global options for that
    revision's `cluster-tls` (e.g. `--program`), with `{project}` standing for its project folder.
    """

    def __init__(self, repo: Path, ref: str, salt: bytes | None = None, cli: list[str] = ()):
        self.ref = ref
        self.commit = resolve_commit(repo, ref)
        self.stacks: list[str] = []
        prefix = _git(repo, "rev-parse", "--show-prefix").strip()
        top = Path(_git(repo, "rev-parse", "--show-toplevel").strip()).resolve()
        _sweep_stale_scratch()
        self._scratch = tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-")
        self._process: subprocess.Popen[str] | None = None
        try:
            tree = Path(self._scratch.name) / "tree"
            try:
                Tree(top, self.commit).write(tree)
            except GitTreeError as error:
                raise RevisionError(str(error)) from None
            self.project = tree / prefix
            spec = {
                "root": str(self.project),
                "mapping": _package_dirs(self.project),
                "pool": str(POOL_SOURCE),
                "out": str(Path(self._scratch.name) / "render"),
                "cli": [a.replace("{project}", str(self.project)) for a in ["--project-dir", "{project}", *cli]],
                "salted": salt is not None,
                "top": str(top),
                "tree": str(tree),
                "parent": os.getpid(),
            }
            # PYTHONPATH stays: its entries inside the repository are read from the tree (the prelude's _in_tree).
            env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_CONFIG", SALT_VARIABLE))}
            if salt is not None:
                env[SALT_VARIABLE] = salt.hex()
            self._process = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP, json.dumps(spec)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
                cwd=self.project if self.project.is_dir() else tree,
            )
        except BaseException:
            self._scratch.cleanup()
            raise

    def render(self, stacks: list[str]) -> None:
        """Render these stacks at the revision (call once)."""
        self.stacks = list(stacks)
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write(json.dumps(self.stacks) + "\n")
            self._process.stdin.close()
        except (BrokenPipeError, OSError):
            pass  # it ended already: results() reports how

    def results(self) -> dict[str, dict[str, str] | None | RevisionError]:
        """Per stack: its files; None where the revision has no such stack (new in this change); or the error."""
        if self._process is None or not self.stacks:
            return {}
        assert self._process.stdout is not None
        stdout = self._process.stdout.read()
        self._process.wait()
        try:
            report = json.loads(stdout)
        except json.JSONDecodeError:
            raise RevisionError(
                f"rendering at {self.ref} ({self.commit[:12]}) ended without a result (exit {self._process.returncode})"
            ) from None
        if "error" in report:
            raise RevisionError(f"rendering at {self.ref} ({self.commit[:12]}): {report['error']}")
        results: dict[str, dict[str, str] | None | RevisionError] = {}
        for stack in self.stacks:
            code, stderr = report["stacks"][stack]
            out = Path(self._scratch.name) / "render" / stack
            if code == 0:
                results[stack] = {str(p.relative_to(out)): p.read_text() for p in sorted(out.rglob("*.yaml"))}
            elif "no file" in stderr and f"stack {stack!r}" in stderr:
                results[stack] = None
            else:
                results[stack] = RevisionError(
                    f"rendering stack {stack!r} at {self.ref} ({self.commit[:12]}) failed: {stderr.strip()}"
                )
        return results

    def __enter__(self) -> RevisionRender:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._scratch.cleanup()
