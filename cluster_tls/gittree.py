"""A git revision's tree as git stores it: each entry's mode and blob, links as links (issue 28).

Read from git's objects (`git ls-tree`, `git cat-file --batch`), never through `git archive`: an archive applies
`.gitattributes` (`export-ignore` leaves files out, `export-subst` rewrites them), so the base of a review would
not be the revision's files.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path, PurePosixPath

LINK, EXECUTABLE, FILE, SUBMODULE = "120000", "100755", "100644", "160000"


class GitTreeError(Exception):
    pass


def git(top: Path, *args: str) -> bytes:
    result = subprocess.run(["git", "-C", str(top), *args], capture_output=True)
    if result.returncode != 0:
        raise GitTreeError(f"git {' '.join(args)}: {result.stderr.decode(errors='replace').strip() or 'failed'}")
    return result.stdout


class Tree:
    """The entries of `commit` in the repository at `top`: path -> (mode, blob id)."""

    def __init__(self, top: Path, commit: str):
        self.top, self.commit = top, commit
        self.entries: dict[str, tuple[str, str]] = {}
        for entry in git(top, "ls-tree", "-r", "-z", "--full-tree", commit).split(b"\0"):
            if entry:
                meta, _, name = entry.partition(b"\t")
                mode, _, blob = meta.decode().split()
                self.entries[name.decode(errors="surrogateescape")] = (mode, blob)
        self.folders: set[str] = {""}
        self.children: dict[str, set[str]] = {}
        for path in self.entries:
            parts = PurePosixPath(path).parts
            for depth in range(len(parts)):
                parent = "/".join(parts[:depth])
                self.folders.add(parent)
                self.children.setdefault(parent, set()).add(parts[depth])
        self._contents: dict[str, bytes] = {}

    def blobs(self, ids: list[str]) -> dict[str, bytes]:
        """The content of each blob, read in one `git cat-file --batch`."""
        wanted = [blob for blob in dict.fromkeys(ids) if blob not in self._contents]
        if wanted:
            result = subprocess.run(
                ["git", "-C", str(self.top), "cat-file", "--batch"],
                input="".join(f"{blob}\n" for blob in wanted).encode(),
                capture_output=True,
            )
            if result.returncode != 0:
                raise GitTreeError(f"git cat-file --batch: {result.stderr.decode(errors='replace').strip()}")
            out, at = result.stdout, 0
            for blob in wanted:
                end = out.index(b"\n", at)
                header = out[at:end].split()
                if len(header) != 3:
                    raise GitTreeError(f"git cat-file --batch: {out[at:end].decode(errors='replace')}")
                size = int(header[2])
                self._contents[blob] = out[end + 1 : end + 1 + size]
                at = end + 1 + size + 1
        return {blob: self._contents[blob] for blob in ids}

    def link_target(self, path: str) -> str:
        mode, blob = self.entries[path]
        assert mode == LINK
        return self.blobs([blob])[blob].decode(errors="surrogateescape")

    def write(self, into: Path) -> None:
        """Every file of the tree under `into`, with its mode; links as links (their targets as committed, even
        absolute ones); submodules as empty folders, as a clone without them has."""
        into.mkdir(parents=True, exist_ok=True)
        files = {path: entry for path, entry in self.entries.items() if entry[0] != SUBMODULE}
        contents = self.blobs([blob for _, blob in files.values()])
        for path, (mode, blob) in sorted(self.entries.items()):
            parts = PurePosixPath(path).parts
            if any(part in ("", ".", "..") for part in parts) or PurePosixPath(path).is_absolute():
                raise GitTreeError(f"{self.commit[:12]} has an entry named {path!r}")
            target = into.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            if mode == SUBMODULE:
                target.mkdir(exist_ok=True)
            elif mode == LINK:
                os.symlink(contents[blob].decode(errors="surrogateescape"), target)
            else:
                target.write_bytes(contents[blob])
                target.chmod(0o755 if mode == EXECUTABLE else 0o644)


def blob_id(content: bytes, algorithm: str) -> str:
    import hashlib

    digest = hashlib.new(algorithm)
    digest.update(b"blob %d\0" % len(content))
    digest.update(content)
    return digest.hexdigest()


def working_entry(path: Path, algorithm: str) -> tuple[str, str] | str | None:
    """A working-tree path as git would record it: (mode, blob) for a file or link, "folder", or None (absent)."""
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISLNK(info.st_mode):
        return LINK, blob_id(os.readlink(path).encode(errors="surrogateescape"), algorithm)
    if stat.S_ISDIR(info.st_mode):
        return "folder"
    if not stat.S_ISREG(info.st_mode):
        return "special", str(info.st_mode)
    mode = EXECUTABLE if info.st_mode & stat.S_IXUSR else FILE
    return mode, blob_id(path.read_bytes(), algorithm)
