"""Which stacks a pull request cannot have changed, decided from what their evaluation reads (issue 21).

A stack's offline evaluation is a function of its stack file, of the repository's files (the program, the
package's code when it lives in the repository, `Pulumi.yaml`, `requirements.lock`, anything the program opens),
and of what both sides share: this environment's installed packages and everything outside the repository. So a
stack whose stack file and whose repository files, other stack files aside, are the same at the base revision
as in the working tree renders the same at both sides, and its review is "no differences" without evaluating it.

Compared, at both sides, by git blob id: every file of the repository (the base: `git ls-tree` of the revision; the
working tree: tracked and untracked files that are not ignored, as they are on disk). When the `cluster_tls` code
this process runs is installed outside the repository, its files count too, for the working tree and for a base
that has no `cluster_tls` of its own (the base then imports the installed one, cluster_tls/revision.py). Ignored
files are in neither side's review: `git archive` leaves them out of the base.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import stat
import subprocess
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .stackfile import Project


class InputsError(Exception):
    pass


def _git(top: Path, *args: str) -> bytes:
    result = subprocess.run(["git", "-C", str(top), *args], capture_output=True)
    if result.returncode != 0:
        raise InputsError(f"git {' '.join(args)}: {result.stderr.decode(errors='replace').strip() or 'failed'}")
    return result.stdout


@dataclass(frozen=True)
class Side:
    """One side of a review: a blob id per repository file, and the digest of installed code it imports (if any)."""

    files: dict[str, str]
    installed_code: str | None

    def stack_file_blob(self, stack_file: str) -> str | None:
        return self.files.get(stack_file)

    def code_digest(self, stack_files: Iterable[str]) -> str:
        """Everything but stack files: the part every stack's evaluation reads."""
        skipped = set(stack_files)
        digest = hashlib.sha256()
        for path in sorted(self.files):
            if path not in skipped:
                digest.update(f"{path}\0{self.files[path]}\n".encode(errors="surrogateescape"))
        digest.update(f"installed\0{self.installed_code}\n".encode())
        return digest.hexdigest()


def _blob_id(path: Path, algorithm: str) -> str:
    """What `git hash-object` gives (git's stored form, without clean filters: a filtered file compares unequal,
    so its stacks are evaluated); a symbolic link's blob is its target's name, as git stores it."""
    content = os.readlink(path).encode(errors="surrogateescape") if path.is_symlink() else path.read_bytes()
    digest = hashlib.new(algorithm)
    digest.update(b"blob %d\0" % len(content))
    digest.update(content)
    return digest.hexdigest()


def _package_folders() -> list[Path]:
    """Where this process imports `cluster_tls` and its mapped subpackages from."""
    folders = []
    for name in ("cluster_tls", "cluster_tls.components", "cluster_tls.stacks"):
        module = importlib.import_module(name)
        folders += [Path(p).resolve() for p in module.__path__]
    return folders


def _installed_code(top: Path) -> str | None:
    """A digest of the `cluster_tls` code this process runs, when any of it is outside the repository."""
    folders = _package_folders()
    if all(top == folder or top in folder.parents for folder in folders):
        return None
    digest = hashlib.sha256()
    for folder in folders:
        for source in sorted(folder.rglob("*")):
            if source.is_file() and "__pycache__" not in source.parts:
                digest.update(f"{source}\0{_blob_id(source, 'sha256')}\n".encode(errors="surrogateescape"))
    return digest.hexdigest()


def _has_own_package(files: dict[str, str], prefix: str, pyproject: bytes | None) -> bool:
    """Whether a revision's project brings its own `cluster_tls` (the revision's render imports it from there)."""
    folder = "cluster_tls"
    if pyproject:
        try:
            mapping = tomllib.loads(pyproject.decode()).get("tool", {}).get("setuptools", {}).get("package-dir", {})
            folder = mapping.get("cluster_tls", folder) if isinstance(mapping, dict) else folder
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            return True  # its render reads it the same way and fails: nothing to skip
    return str(PurePosixPath(prefix) / folder / "__init__.py") in files


def _mode(path: Path) -> str:
    """The mode git records for a working-tree file (a link, an executable file, a file): part of what is compared,
    so an executable bit the program tests, or a link replaced by a file with the same blob, is a change."""
    if path.is_symlink():
        return "120000"
    return "100755" if path.stat().st_mode & stat.S_IXUSR else "100644"


class Review:
    """Both sides of `diff --against-ref`: which stacks need evaluating."""

    def __init__(self, project: Project, commit: str):
        self.project = project
        self.top = Path(_git(project.root, "rev-parse", "--show-toplevel").decode().strip()).resolve()
        self.prefix = _git(project.root, "rev-parse", "--show-prefix").decode().strip()
        self.algorithm = _git(self.top, "rev-parse", "--show-object-format").decode().strip() or "sha1"
        installed = _installed_code(self.top)
        self.current = Side(self._working_files(), installed)
        base_files = self._revision_files(commit)
        pyproject = str(PurePosixPath(self.prefix) / "pyproject.toml")
        own = _has_own_package(
            base_files,
            self.prefix,
            _git(self.top, "show", f"{commit}:{pyproject}") if pyproject in base_files else None,
        )
        self.base = Side(base_files, None if own else installed)

    def _working_files(self) -> dict[str, str]:
        listed = _git(self.top, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split(b"\0")
        files = {}
        for raw in dict.fromkeys(name for name in listed if name):
            name = raw.decode(errors="surrogateescape")
            path = self.top / name
            if path.is_symlink() or path.is_file():
                files[name] = f"{_mode(path)} {_blob_id(path, self.algorithm)}"
            elif path.is_dir():  # a submodule: never equal to the revision's entry, so nothing is skipped
                files[name] = "directory"
        return files

    def _revision_files(self, commit: str) -> dict[str, str]:
        files = {}
        for entry in _git(self.top, "ls-tree", "-r", "-z", "--full-tree", commit).split(b"\0"):
            if entry:
                meta, _, name = entry.partition(b"\t")
                mode, _, blob = meta.split()
                files[name.decode(errors="surrogateescape")] = f"{mode.decode()} {blob.decode()}"
        return files

    def _stack_file(self, stack: str) -> str:
        # The stack file's own entry, never the file a link points at: prod linked to staging's file is a change
        # to prod even where staging's blob is the same at both sides (issue 28).
        file = self.project.stack_file(stack)
        path = file.parent.resolve() / file.name
        return str(PurePosixPath(path.relative_to(self.top).as_posix()))

    def _all_stack_files(self, side: Side) -> list[str]:
        folder = PurePosixPath(self.project.stack_config_dir.resolve().relative_to(self.top).as_posix())
        return [
            path
            for path in side.files
            if PurePosixPath(path).parent == folder
            and PurePosixPath(path).name.startswith("Pulumi.")
            and path.endswith(".yaml")
            and PurePosixPath(path).name != "Pulumi.yaml"
        ]

    def unchanged(self, stacks: Iterable[str]) -> set[str]:
        """The stacks whose evaluation reads the same inputs at both sides."""
        stacks = list(stacks)
        same_code = self.current.code_digest(self._all_stack_files(self.current)) == self.base.code_digest(
            self._all_stack_files(self.base)
        )
        if not same_code:
            return set()
        return {
            stack
            for stack in stacks
            if (blob := self.current.stack_file_blob(self._stack_file(stack))) is not None
            and blob == self.base.stack_file_blob(self._stack_file(stack))
        }
