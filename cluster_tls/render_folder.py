"""Write a render into its folder so that a reader finds the previous render or the new one, never a mix (issue 19).

The files go into a new folder beside the target; when all are written it takes the target's place in one
`renameat2(RENAME_EXCHANGE)` (Linux 3.15+, through glibc), or, where that call is missing, two renames with a moment
in which the folder is absent (never a partial one). A lock on the folder that holds the target serializes two
renders into it. The previous render, swapped out, is then removed (a reader still listing it sees it shrink,
never files of the new one). An interrupted render leaves only its own scratch folder, which the next render
removes; the target is the previous render, whole.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Written into every folder `render` fills, so that a later render may replace it and nothing else.
MARKER = ".cluster-tls-render"
_SCRATCH = ".cluster-tls-render-"
_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


class FolderError(Exception):
    """The target is not ours to replace, or cannot be written."""


@functools.cache
def _renameat2() -> Any:
    return getattr(ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True), "renameat2", None)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where the C library or the file system cannot."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on the folder that holds the target (flock on the directory itself: no lock file)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _remove_stale_scratch(parent: Path, name: str) -> None:
    """Scratch folders of interrupted renders of this target (none is in progress: the lock is held)."""
    for stale in parent.glob(f"{_SCRATCH}{name}-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _check_ours(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise FolderError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise FolderError(
            f"--out {out} is not empty and was not written by `cluster-tls render`; choose an empty or new folder"
        )


def replace_folder(files: dict[str, str], out: Path) -> None:
    """Make `out` hold exactly `files` (relative path -> text) and the marker; refuse a folder we did not write. A
    symbolic link is followed: the folder it names is replaced, and the link stays (issue 31: it was replaced)."""
    if out.is_symlink():
        out = out.resolve()
    _check_ours(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with _locked(out.parent):
            _remove_stale_scratch(out.parent, out.name)
            scratch = Path(tempfile.mkdtemp(prefix=f"{_SCRATCH}{out.name}-", dir=out.parent))
            try:
                (scratch / MARKER).write_text("written by cluster-tls render; the next render replaces this folder\n")
                for relative, text in files.items():
                    target = scratch / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text)
                _check_ours(out)  # again, right before: a folder made there meanwhile is not ours (issue 28)
                if not out.exists():
                    scratch.rename(out)
                elif _exchange(scratch, out):  # scratch now holds the old render
                    pass
                else:
                    old = Path(tempfile.mkdtemp(prefix=f"{_SCRATCH}{out.name}-", dir=out.parent))
                    out.rename(old / "previous")
                    scratch.rename(out)
                    scratch = old
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    except OSError as error:  # a read-only or full folder is the user's to fix, not a bug of ours
        raise FolderError(f"--out {out}: cannot write there ({error.strerror or error})") from None
