"""Whether a pull request can have changed a stack, decided from what its evaluation really read (issue 28).

A stack's offline evaluation is a function of what it reads: files (opened, listed, looked at), the modules it
imports and where the import system finds them, environment variables, commands and the network. The working
tree's evaluation records all of that (cluster_tls/reads.py). Its base side renders the same, and is skipped, only
where every recorded input is the same at the base revision, compared as git stores it: content **and** mode, a
link as a link **and** along its target. What the review cannot see at the base (a file outside the repository
and the environment, an environment variable the program reads, a command, the network) makes the stack evaluated,
never "same"; so does a change of the dependencies both sides would import (`Review.dependencies`).

Installed packages (the interpreter's prefix and site folders) are shared by both sides while the dependency
files are the same at both: the base renders in this environment (cluster_tls/revision.py).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from .gittree import LINK, SUBMODULE, GitTreeError, Tree, git, working_entry
from .reads import Reads, environment_roots
from .stackfile import Project

# Files that say which packages a side imports: a change to one means the base would not render as it did.
DEPENDENCY_FILES = ("requirements", "constraints", "Pipfile", "poetry.lock", "uv.lock", "pdm.lock", "setup.py")
_NEVER_IMPORTED = ("__main__", "__mp_main__")  # the script being run, by its path
_MAX_LINKS = 40  # as the kernel's ELOOP limit


class InputsError(Exception):
    pass


def _package_folders() -> list[str]:
    """Where this process imports `cluster_tls` and its mapped subpackages from (imported before any recording:
    every file of theirs counts, data they read at import included)."""
    folders = []
    for name in ("cluster_tls", "cluster_tls.components", "cluster_tls.stacks"):
        module = importlib.import_module(name)
        folders += [os.path.realpath(p) for p in module.__path__]
    return folders


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _dependency_file(name: str) -> bool:
    base = PurePosixPath(name).name
    return base.startswith(DEPENDENCY_FILES) or base == "pyproject.toml" or base == "setup.cfg"


def _declared_dependencies(pyproject: bytes) -> object:
    """What a pyproject says about dependencies (its version or description may change without them)."""
    try:
        data = tomllib.loads(pyproject.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return pyproject
    project = data.get("project", {})
    return (
        project.get("dependencies"),
        project.get("optional-dependencies"),
        data.get("build-system"),
        data.get("tool", {}).get("poetry", {}).get("dependencies"),
        data.get("tool", {}).get("setuptools", {}).get("package-dir"),
    )


def _first_difference(before: bytes, after: bytes) -> str:
    old = [line.strip() for line in before.decode(errors="replace").splitlines() if line.strip()]
    new = [line.strip() for line in after.decode(errors="replace").splitlines() if line.strip()]
    gone = [line for line in old if line not in set(new)]
    came = [line for line in new if line not in set(old)]
    if gone or came:
        return f"{(gone or ['(none)'])[0][:60]} -> {(came or ['(none)'])[0][:60]}"
    return "changed"


class Review:
    """The base revision's tree against the working tree, for the stacks of `project`."""

    def __init__(self, project: Project, commit: str):
        self.project = project
        try:
            self.top = Path(git(project.root, "rev-parse", "--show-toplevel").decode().strip()).resolve()
            self.algorithm = git(self.top, "rev-parse", "--show-object-format").decode().strip() or "sha1"
            self.base = Tree(self.top, commit)
        except GitTreeError as error:
            raise InputsError(str(error)) from None
        self.environment = environment_roots()
        self.packages = _package_folders()
        self._current: dict[str, tuple[str, str] | str | None] = {}
        self._states: dict[tuple[str, str, str], object] = {}
        self._fingerprints: dict[str, list[int] | None] = {}
        self._parts: dict[tuple[str, str], bool] = {}
        self.dependencies = self._dependency_change()

    # -- one path at one side ------------------------------------------------------------------------------
    def relative(self, path: str) -> str | None:
        top = str(self.top)
        if not _under(path, top):
            return None
        return "" if path == top else path[len(top) + 1 :]

    def _entry(self, side: str, relative: str) -> tuple[str, str] | str | None:
        if side == "base":
            if relative in self.base.entries:
                return self.base.entries[relative]
            return "folder" if relative in self.base.folders else None
        if relative not in self._current:
            self._current[relative] = working_entry(self.top / relative, self.algorithm)
        return self._current[relative]

    def _link_target(self, side: str, relative: str) -> str:
        if side == "base":
            return self.base.link_target(relative)
        return os.readlink(self.top / relative)

    def resolved(self, side: str, relative: str) -> tuple:
        """What reading `relative` finds at one side: each link passed on the way, then the entry at the end
        ("outside" where a link leaves the repository: not seen at the base)."""
        passed: list[tuple] = []
        parts = list(PurePosixPath(relative).parts) if relative else []
        done: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                if not done:
                    return (*passed, ("outside", relative))
                done.pop()
                continue
            if part == ".":
                continue
            here = "/".join([*done, part])
            entry = self._entry(side, here)
            if isinstance(entry, tuple) and entry[0] == LINK:
                hops += 1
                target = self._link_target(side, here)
                passed.append((here, entry))
                if hops > _MAX_LINKS or target.startswith("/"):
                    return (*passed, ("outside", target))
                parts = list(PurePosixPath(target).parts) + parts
                continue
            if parts and entry != "folder":
                return (*passed, (here, entry))  # a file (or nothing) where a folder was needed
            done.append(part)
        return (*passed, ("/".join(done), self._entry(side, "/".join(done))))

    def _listing(self, side: str, relative: str) -> tuple:
        end = self.resolved(side, relative)
        where, entry = end[-1]
        if entry != "folder":
            return end
        if side == "base":
            return (*end, tuple(sorted(self.base.children.get(where, ()))))
        try:
            return (*end, tuple(sorted(os.listdir(self.top / where))))
        except OSError as error:
            return (*end, str(error))

    def _same(self, relative: str, *, listing: bool = False) -> bool:
        read = self._listing if listing else self.resolved
        return read("base", relative) == read("current", relative)

    # -- the dependencies both sides import ------------------------------------------------------------------
    def _dependency_change(self) -> str | None:
        """The first dependency file that differs between the sides, with what changed in it (None: the same)."""
        tracked = self.base.entries.keys() | {
            name.decode(errors="surrogateescape")
            for name in git(self.top, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split(b"\0")
            if name
        }
        for name in sorted(path for path in tracked if _dependency_file(path)):
            if self._same(name):
                continue
            before = self._content("base", name)
            after = self._content("current", name)
            if PurePosixPath(name).name == "pyproject.toml":
                if _declared_dependencies(before) == _declared_dependencies(after):
                    continue
                return f"{name}: its dependencies changed"
            return f"{name}: {_first_difference(before, after)}"
        return None

    def _content(self, side: str, relative: str) -> bytes:
        end = self.resolved(side, relative)[-1]
        entry = end[1]
        if not isinstance(entry, tuple) or entry[0] in (LINK, SUBMODULE):
            return b""
        if side == "base":
            return self.base.blobs([entry[1]])[entry[1]]
        return (self.top / end[0]).read_bytes()

    # -- a stack's reads -------------------------------------------------------------------------------------
    def _shared(self, path: str) -> bool:
        """Read from the interpreter or the installed packages, or the plumbing of finding the repository."""
        if any(_under(path, root) for root in self.environment):
            return True
        return _under(str(self.top), path)  # an ancestor of the repository (a path being resolved)

    def _module_probes(self, reads: Reads) -> Iterable[str]:
        """Where the import system looks for each module imported, in the repository: a module found elsewhere
        here may be found in the repository at the base (a file added or removed there)."""
        search = [path for path in reads.search if self.relative(path) is not None and not self._shared(path)]
        search.append(str(self.project.root))
        found = {name: file for name, file in reads.modules if name not in _NEVER_IMPORTED}
        for name in found:
            parent, _, leaf = name.rpartition(".")
            folders = search if not parent else [os.path.dirname(found[parent])] if found.get(parent) else []
            for folder in folders:
                yield os.path.join(folder, leaf + ".py")
                yield os.path.join(folder, leaf, "__init__.py")
                yield os.path.join(folder, leaf)

    def _imported_from_outside(self, reads: Reads) -> tuple[str, ...]:
        """Folders of packages (and files of modules) imported from outside the repository and the environment (a
        package installed editable from elsewhere): the base imports the same ones, so what is read in them is
        shared, unless the repository has a module of that name where the base looks first (checked by the
        module probes)."""
        found = []
        for _name, file in reads.modules:
            if file and self.relative(file) is None and not self._shared(file):
                found.append(os.path.dirname(file) if os.path.basename(file) == "__init__.py" else file)
        return tuple(found)

    def _inputs(self, reads: Reads) -> tuple[list[tuple[str, str]], list[str], str | None]:
        """What `reads` depends on: repository inputs as (kind, relative path) with kind "read", "list" or "tree";
        files read from the environment and from packages imported from outside (shared by both sides); or why
        nothing can be compared (an input the base cannot see)."""
        if reads.unseen:
            return [], [], f"uses {sorted(reads.unseen)[0]}"
        if reads.variables:
            return [], [], f"reads environment variable {sorted(reads.variables)[0]}"
        inputs: list[tuple[str, str]] = []
        for folder in self.packages:
            relative = self.relative(folder)
            if relative is not None and not self._shared(folder):
                inputs.append(("tree", relative))
        project_file = str(self.project.root / "Pulumi.yaml")  # read when the project is found, before recording
        paths = [
            (project_file, "read"),
            *((path, "read") for path in sorted(reads.files | reads.looked_at)),
            *((file, "read") for _, file in reads.modules if file),
            *((path, "read") for path in self._module_probes(reads)),
            *((path, "list") for path in sorted(reads.listed)),
        ]
        outside = self._imported_from_outside(reads)
        # Folders above the repository, the environment and the packages imported from outside are looked at
        # while their paths are resolved (os.path.realpath): plumbing, not inputs.
        resolving = (str(self.top), *self.environment, *outside)
        shared: list[str] = []
        for path, kind in dict.fromkeys(paths):
            if kind == "read" and any(_under(root, path) for root in resolving) and os.path.isdir(path):
                continue
            if self._shared(path) or any(_under(path, folder) for folder in outside):
                shared.append(path)
                continue
            relative = self.relative(path)
            if relative is None:
                return [], [], f"reads {path}, outside the repository"
            inputs.append((kind, relative))
        return inputs, shared, None

    def state(self, side: str, kind: str, relative: str) -> object:
        """An input as one side has it, in a form that survives JSON (the review cache keeps it)."""
        key = (side, kind, relative)
        if key not in self._states:
            if kind == "tree":
                found: object = sorted(self._folder(side, relative).items())
            elif kind == "list":
                found = self._listing(side, relative)
            else:
                found = self.resolved(side, relative)
            self._states[key] = json.loads(json.dumps(found))
        return self._states[key]

    def why_evaluated(self, reads: Reads) -> str | None:
        """None when every input of `reads` is the same at the base; else what differs or cannot be seen there."""
        if self.dependencies:
            return f"dependencies changed ({self.dependencies})"
        inputs, _, why = self._inputs(reads)
        if why:
            return why
        for kind, relative in inputs:
            if self.state("base", kind, relative) != self.state("current", kind, relative):
                return f"the package's code in {relative} changed" if kind == "tree" else f"{relative} changed"
        return self._shadowed(_outside_names(reads, self))

    def record(self, reads: Reads, stack_file: Path) -> dict[str, object] | None:
        """What a later review needs to know that an evaluation would read all the same (None: it cannot). The
        stack's own file apart: the rest is shared by most stacks of a project (cluster_tls/review_cache.py)."""
        inputs, shared, why = self._inputs(reads)
        if why:
            return None
        own = self.relative(os.path.normpath(os.path.abspath(stack_file)))
        states = [[kind, relative, self.state("current", kind, relative)] for kind, relative in inputs]
        return {
            "python": _interpreter(),
            "own": [entry for entry in states if entry[1] == own],
            "inputs": [entry for entry in states if entry[1] != own],
            "shared": {path: self._fingerprint(path) for path in shared},
            "outside": _outside_names(reads, self),
        }

    def same_as_recorded(self, record: dict[str, Any], part: Callable[[str], Any]) -> bool:
        """Whether an evaluation recorded earlier would read the same now, here and at the base: then both sides
        render what it rendered, and neither needs evaluating. `part(digest)` reads a shared part of the record."""
        try:
            if self.dependencies or record["python"] != _interpreter():
                return False
            if not self._same_entries(record["own"]):
                return False
            for key in ("inputs", "shared", "outside"):
                if (key, record[key]) not in self._parts:
                    self._parts[(key, record[key])] = self._part_holds(key, part(record[key]))
                if not self._parts[(key, record[key])]:
                    return False
            return True
        except (KeyError, TypeError, ValueError):
            return False  # a record of another version of this code: evaluate

    def _part_holds(self, key: str, value: Any) -> bool:
        if value is None:
            return False
        if key == "inputs":
            return self._same_entries(value)
        if key == "shared":
            return all(self._fingerprint(path) == found for path, found in value.items())
        return self._shadowed(list(value)) is None

    def _same_entries(self, entries: Any) -> bool:
        return all(
            self.state("current", kind, relative) == state and self.state("base", kind, relative) == state
            for kind, relative, state in entries
        )

    def _fingerprint(self, path: str) -> list[int] | None:
        """A file of the environment as the cache compares it: size and modification time (a reinstalled package
        changes both), or None where it is gone."""
        if path not in self._fingerprints:
            try:
                info = os.stat(path)
                self._fingerprints[path] = [info.st_size, info.st_mtime_ns]
            except OSError:
                self._fingerprints[path] = None
        return self._fingerprints[path]

    def _shadowed(self, names: list[str]) -> str | None:
        """A module this side imports from outside the repository that the base, which looks in its project
        folder first, may import from the repository instead."""
        root = self.relative(str(self.project.root.resolve()))
        if root is None:
            return None
        for name in names:
            for candidate in (f"{name}.py", f"{name}/__init__.py", name):
                relative = str(PurePosixPath(root) / candidate) if root else candidate
                if any(self.resolved(side, relative)[-1][1] is not None for side in ("base", "current")):
                    return f"{relative} in the repository may be imported at the base instead of {name} here"
        return None

    def _folder(self, side: str, relative: str) -> dict[str, object]:
        """Every entry under a folder of the package's own code, stack files aside (read by name, and recorded
        then; no import reads one)."""
        prefix = f"{relative}/" if relative else ""
        if side == "base":
            found: dict[str, object] = {p: list(e) for p, e in self.base.entries.items() if p.startswith(prefix)}
        else:
            found = {}
            for folder, names, files in os.walk(self.top / relative):
                names[:] = [name for name in names if name != "__pycache__"]
                for name in files + [n for n in names if (Path(folder) / n).is_symlink()]:
                    path = os.path.relpath(os.path.join(folder, name), self.top)
                    entry = self._entry("current", path)
                    found[path] = list(entry) if isinstance(entry, tuple) else entry
        stack_files = self.relative(str(self.project.stack_config_dir.resolve()))

        def code(path: str) -> bool:
            name = PurePosixPath(path)
            return not (
                str(name.parent) == (stack_files or ".")
                and name.name.startswith("Pulumi.")
                and name.suffix == ".yaml"
                and name.name != "Pulumi.yaml"
            )

        return {path: entry for path, entry in found.items() if code(path)}


def _interpreter() -> list[object]:
    """Which interpreter, and where it imports from (a record made by a process that imports this package from
    elsewhere read other code)."""
    return [sys.executable, sys.version, list(sys.path), [os.path.realpath(p) for p in _package_folders()]]


def _outside_names(reads: Reads, review: Review) -> list[str]:
    """Top-level modules this side imported from outside the repository (or not from a file at all)."""
    names = []
    for name, file in reads.modules:
        if "." in name or name in _NEVER_IMPORTED:
            continue
        if file and review.relative(file) is not None and not review._shared(file):
            continue
        names.append(name)
    return sorted(set(names))
