"""What an evaluation really read: every file opened, listed or looked at, every module imported, every
environment variable, every command and network call (issue 28).

`cluster-tls diff --against-ref` skips a side's evaluation only where everything the evaluation read is the same
at that side (cluster_tls/unchanged.py). This module records it, from Python's audit hooks
(docs.python.org/3/library/audit_events.html: `open`, `os.listdir`, `os.scandir`, `import`, `socket.*`,
`subprocess.Popen`, ...), from `os.stat`/`os.lstat`/`os.access`/`os.readlink` (no audit event covers them), and
from `os.environ`. Recording covers the whole process from `start()` on: a stack evaluated in a forked worker
inherits what its parent read before the fork (modules imported, files cached), so its record is a superset of
its own reads, never less.
"""

from __future__ import annotations

import _collections_abc
import contextlib
import functools
import os
import site
import sys
import sysconfig
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

_MAPPING_FILES = {os.__file__, _collections_abc.__file__, __file__}
_IMPORT_MACHINERY = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")
# Reads that are the process's own plumbing, the same for any evaluation at either side.
_PLUMBING = ("/dev/null", "/dev/urandom", "/dev/random", "/dev/tty", "/proc/self/", "/proc/thread-self/")
_NOT_COUNTED_VARIABLES = ("PULUMI_", "CLUSTER_TLS_", "GRPC_", "PYTHON", "PROTOCOL_BUFFERS_")
_UNSEEN_EVENTS = {
    "socket.connect": "the network",
    "socket.getaddrinfo": "the network (a name lookup)",
    "socket.gethostbyname": "the network (a name lookup)",
    "urllib.Request": "the network",
    "subprocess.Popen": "a command",
    "os.system": "a command",
    "os.exec": "a command",
    "os.posix_spawn": "a command",
    "os.spawn": "a command",
}


@dataclass
class _State:
    files: set[str]
    listed: set[str]
    looked_at: set[str]
    imports: set[str]
    variables: set[str]
    unseen: set[str]
    stack_files: set[str]  # read by the package for the stack it evaluates (`reading_stack_file()`)


_STATE: _State | None = None
_HOOKED = False
_STACK_FILE = False  # the package is reading the stack file of the stack it evaluates
_ORIGINAL_OS = {name: getattr(os, name) for name in ("stat", "lstat", "access", "readlink")}


def _absolute(path: object) -> str | None:
    if isinstance(path, int) or path is None:
        return None
    try:
        text = os.fsdecode(path)  # type: ignore[arg-type]
    except TypeError:
        return None
    return os.path.normpath(os.path.join(os.getcwd(), text)) if not os.path.isabs(text) else os.path.normpath(text)


def _plumbing(path: str) -> bool:
    return path in _PLUMBING or path.startswith(_PLUMBING)


def _source_of_cache(path: str) -> str:
    """A module's cached bytecode stands for its source: the import system compiles it from that source."""
    folder, name = os.path.split(path)
    if os.path.basename(folder) == "__pycache__" and name.endswith(".pyc"):
        return os.path.join(os.path.dirname(folder), name.split(".", 1)[0] + ".py")
    return path


def _hook(event: str, args: tuple) -> None:
    state = _STATE
    if state is None:
        return
    if event == "open":
        path, mode, flags = (list(args) + [None, None])[:3]
        if isinstance(mode, str):
            writing = any(c in mode for c in "wax") and "+" not in mode
        else:
            writing = isinstance(flags, int) and bool(flags & (os.O_WRONLY | os.O_CREAT))
        where = _absolute(path)
        if where and not writing and not _plumbing(where):
            (state.stack_files if _STACK_FILE else state.files).add(_source_of_cache(where))
    elif event in ("os.listdir", "os.scandir"):
        if sys._getframe(1).f_code.co_filename in _IMPORT_MACHINERY:
            return  # the import system's directory cache: what it found is recorded per module name
        where = _absolute(args[0] if args and args[0] is not None else ".")
        if where and not _plumbing(where):
            state.listed.add(where)
    elif event == "import":
        state.imports.add(str(args[0]))
    elif event in _UNSEEN_EVENTS:
        state.unseen.add(_UNSEEN_EVENTS[event])


def _looking(name: str):
    original = _ORIGINAL_OS[name]

    def look(path, *args, **kwargs):
        state = _STATE
        if state is not None:
            where = _absolute(path)
            if where and not _plumbing(where):
                (state.stack_files if _STACK_FILE else state.looked_at).add(where)
        return original(path, *args, **kwargs)

    look.__name__ = original.__name__
    look.__doc__ = original.__doc__
    return look


@functools.cache
def environment_roots() -> tuple[str, ...]:
    """Where the interpreter and the installed packages live: shared by both sides of a review."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots |= {path for key, path in sysconfig.get_paths().items() if key in ("stdlib", "platstdlib", "purelib")}
    roots |= set(site.getsitepackages()) | {site.getusersitepackages()}
    return tuple(sorted({os.path.normpath(os.path.realpath(root)) for root in roots if root}))


def _installed(file: str) -> bool:
    return file.startswith(tuple(root.rstrip("/") + "/" for root in environment_roots())) or file.startswith("<")


class _RecordingEnviron(type(os.environ)):  # type: ignore[misc]
    """os.environ, noting each name the program reads (os.getenv, `in`, [] all come through __getitem__). Reads
    made by the interpreter's or an installed package's own code (pydantic's PYDANTIC_DISABLE_PLUGINS, ruamel's
    YAMLDEBUG) are theirs, the same at both sides; the program's own reads are not seen at the base."""

    def __getitem__(self, key):  # type: ignore[no-untyped-def]
        state = _STATE
        if state is not None and isinstance(key, str) and not key.startswith(_NOT_COUNTED_VARIABLES):
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_filename in _MAPPING_FILES:
                frame = frame.f_back
            if frame is None or not _installed(frame.f_code.co_filename):
                state.variables.add(key)
        return super().__getitem__(key)


def start() -> None:
    """Record from now on in this process (and in the children it forks)."""
    global _STATE, _HOOKED
    if not _HOOKED:
        sys.addaudithook(_hook)  # cannot be removed: installed once per process, idle while _STATE is None
        for name in _ORIGINAL_OS:
            setattr(os, name, _looking(name))
        os.environ.__class__ = _RecordingEnviron
        _HOOKED = True
    _STATE = _State(set(), set(), set(), set(), set(), set(), set())


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The review's own work (git, the base's process), not the evaluation's: not recorded."""
    global _STATE
    state, _STATE = _STATE, None
    try:
        yield
    finally:
        _STATE = state


@contextlib.contextmanager
def reading_stack_file() -> Iterator[None]:
    """The package reading the stack file of the stack it evaluates. A worker forked after the first stack was
    evaluated in its parent inherits that stack's reads; its stack file is that stack's alone (a fresh `pulumi up`
    of another stack never reads it), so `snapshot(stack_file=...)` keeps only the evaluated stack's own."""
    global _STACK_FILE
    before, _STACK_FILE = _STACK_FILE, True
    try:
        yield
    finally:
        _STACK_FILE = before


def stop() -> None:
    global _STATE
    _STATE = None


def recording() -> bool:
    return _STATE is not None


@dataclass(frozen=True)
class Reads:
    """What was read, as absolute paths (`files` opened, `listed` folders, `looked_at` by stat/access/readlink),
    module names imported, environment variable names, and what cannot be seen at another revision."""

    files: frozenset[str]
    listed: frozenset[str]
    looked_at: frozenset[str]
    modules: tuple[tuple[str, str | None], ...]  # (name, file) of every module loaded
    search: tuple[str, ...]  # where a top-level import is looked for (sys.path)
    variables: frozenset[str]
    unseen: frozenset[str]


def snapshot(extra_search: Iterable[Path] = (), stack_file: Path | None = None) -> Reads:
    """What this process has read since `start()`, with every module it has loaded (before `start()` too); of the
    stack files the package read for the stacks it evaluated, only `stack_file`'s."""
    state = _STATE
    if state is None:
        raise RuntimeError("reads.snapshot() before reads.start()")
    modules = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        modules.append((name, _absolute(file) if isinstance(file, str) else None))
    modules += [(name, None) for name in sorted(state.imports - {name for name, _ in modules})]
    search = [_absolute(entry or ".") or "" for entry in sys.path] + [str(p) for p in extra_search]
    own = {_absolute(stack_file)} & state.stack_files if stack_file is not None else set()
    return Reads(
        frozenset(state.files | own),
        frozenset(state.listed),
        frozenset(state.looked_at),
        tuple(sorted(set(modules), key=lambda pair: (pair[0], pair[1] or ""))),
        tuple(dict.fromkeys(search)),
        frozenset(state.variables),
        frozenset(state.unseen),
    )
