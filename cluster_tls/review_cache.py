"""What each stack's last evaluation read, kept between reviews (issue 28), so that a review skips both sides of a
stack whose every recorded input is the same here and at the base (cluster_tls/unchanged.py decides).

`$CLUSTER_TLS_CACHE`, else `$XDG_CACHE_HOME/cluster-tls/reads`, else `~/.cache/cluster-tls/reads`: one JSON file
per project folder, program and stack. A record holds paths and git blob ids, never a value of the stack (secrets
included: a stack file's blob id is a digest of its ciphertexts). A record that is missing, unreadable or from
another version of this code only means the stack is evaluated.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

CACHE_VARIABLE = "CLUSTER_TLS_CACHE"
_VERSION = 1


def folder() -> Path:
    explicit = os.environ.get(CACHE_VARIABLE)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cluster-tls" / "reads"


def _file(project_root: Path, program: str | None, stack: str) -> Path:
    key = json.dumps([_VERSION, str(project_root.resolve()), program or "", stack])
    return folder() / f"{hashlib.sha256(key.encode()).hexdigest()}.json"


# Parts most stacks of a project share (the package's code, the modules, the installed files): each kept once,
# under its digest, and named by it in each stack's record.
SHARED_PARTS = ("inputs", "shared", "outside")


def load(project_root: Path, program: str | None, stack: str) -> dict[str, Any] | None:
    """The stack's record; its shared parts as their digests (`part()` reads one)."""
    try:
        record = json.loads(_file(project_root, program, stack).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("version") == _VERSION else None


@functools.lru_cache(maxsize=64)
def part(digest: str) -> Any:
    """A shared part by its digest (None where it is missing or does not match its digest)."""
    try:
        text = (folder() / f"part-{digest}.json").read_text()
    except OSError:
        return None
    return json.loads(text) if hashlib.sha256(text.encode()).hexdigest() == digest else None


def save(project_root: Path, program: str | None, stack: str, record: dict[str, Any] | None) -> None:
    """Keep `record` (or forget the stack's, when None); a cache that cannot be written is no error."""
    target = _file(project_root, program, stack)
    with contextlib.suppress(OSError):
        if record is None:
            target.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        kept = {"version": _VERSION, **record}
        for key in SHARED_PARTS:
            text = json.dumps(record[key], sort_keys=True)
            kept[key] = hashlib.sha256(text.encode()).hexdigest()
            shared = target.parent / f"part-{kept[key]}.json"
            if not shared.exists():
                _write(shared, text)
        _write(target, json.dumps(kept))


def _write(target: Path, text: str) -> None:
    descriptor, scratch = tempfile.mkstemp(prefix=".record-", dir=target.parent)
    try:
        with os.fdopen(descriptor, "w") as out:
            out.write(text)
        os.replace(scratch, target)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
