"""Renders replace their folder whole (issue 19): interrupted renders leave the previous one, concurrent ones never
mix, and the next render needs no cleanup."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cluster_tls import render_folder
from cluster_tls.render_folder import MARKER, FolderError, replace_folder

OLD = {"manifests/a.yaml": "old: a\n", "manifests/b.yaml": "old: b\n"}
NEW = {"manifests/a.yaml": "new: a\n", "manifests/c.yaml": "new: c\n"}


def tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*") if p.is_file()}


def test_a_render_replaces_exactly_what_the_last_one_wrote(tmp_path):
    out = tmp_path / "out"
    replace_folder(OLD, out)
    replace_folder(NEW, out)
    assert tree(out) == {**NEW, MARKER: (out / MARKER).read_text()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing beside it


def test_a_folder_it_did_not_write_is_refused(tmp_path):
    (tmp_path / "mine.txt").write_text("keep\n")
    with pytest.raises(FolderError, match="not empty and was not written by `cluster-tls render`"):
        replace_folder(NEW, tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep\n"


def test_a_render_that_fails_halfway_leaves_the_previous_one_and_the_next_one_works(tmp_path, monkeypatch):
    out = tmp_path / "out"
    replace_folder(OLD, out)
    written = []
    real = Path.write_text

    def fail_on_the_second(self, text, *args, **kwargs):
        written.append(self)
        if len(written) == 3:  # the marker, one file, then the interruption
            raise KeyboardInterrupt
        return real(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", fail_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        replace_folder(NEW, out)
    monkeypatch.undo()
    assert {k: v for k, v in tree(out).items() if k != MARKER} == OLD
    replace_folder(NEW, out)
    assert {k: v for k, v in tree(out).items() if k != MARKER} == NEW
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


SLOW_RENDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from cluster_tls.render_folder import replace_folder
    real = Path.write_text
    def slow(self, text, *a, **k):
        time.sleep(0.05)
        return real(self, text, *a, **k)
    Path.write_text = slow
    replace_folder({f"manifests/f{i}.yaml": f"new: {i}\\n" for i in range(200)}, Path(sys.argv[1]))
    """
)


def test_a_render_killed_with_sigkill_leaves_the_previous_one_whole(tmp_path):
    out = tmp_path / "out"
    replace_folder(OLD, out)
    child = subprocess.Popen([sys.executable, "-c", SLOW_RENDER, str(out)])
    deadline = time.monotonic() + 30
    while not any(p.name.startswith(".cluster-tls-render-") for p in tmp_path.iterdir()):
        assert time.monotonic() < deadline and child.poll() is None
        time.sleep(0.01)
    time.sleep(0.3)  # some files of the new render are written
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert {k: v for k, v in tree(out).items() if k != MARKER} == OLD
    replace_folder(NEW, out)  # no manual cleanup
    assert {k: v for k, v in tree(out).items() if k != MARKER} == NEW
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


RENDER_LOOP = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from cluster_tls.render_folder import replace_folder
    name = sys.argv[2]
    files = {f"{name}-{i}.yaml": f"{name}\\n" for i in range(30)}
    for _ in range(40):
        replace_folder(files, Path(sys.argv[1]))
    """
)


def test_two_renders_of_one_folder_at_once_never_mix(tmp_path):
    out = tmp_path / "out"
    replace_folder({"a-0.yaml": "a\n"}, out)
    writers = [subprocess.Popen([sys.executable, "-c", RENDER_LOOP, str(out), name]) for name in ("a", "b")]
    seen = set()
    while any(w.poll() is None for w in writers):
        try:
            names = set(os.listdir(out)) - {MARKER}
        except FileNotFoundError:  # only where the C library has no renameat2: absent for a moment, never partial
            continue
        # Never files of two renders; a listing that straddles a swap may catch the previous render as it is
        # removed (fewer files, all of that render), never a part of the next one.
        prefixes = {n.split("-")[0] for n in names}
        assert len(prefixes) <= 1, sorted(names)
        seen |= prefixes
    assert [w.returncode for w in writers] == [0, 0]
    assert len(set(os.listdir(out)) - {MARKER}) == 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_symlinked_out_is_followed_and_kept(tmp_path):
    """`--out link` where link names a folder: the folder is written, the link stays a link (issue 31)."""
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    replace_folder({"a.yaml": "a: 1\n"}, tmp_path / "link")
    replace_folder({"b.yaml": "b: 2\n"}, tmp_path / "link")  # a second render replaces the first
    assert (tmp_path / "link").is_symlink() and os.readlink(tmp_path / "link") == "real"
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == [".cluster-tls-render", "b.yaml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]  # nothing left beside them


def test_a_folder_made_at_out_during_the_render_is_left_alone(tmp_path, monkeypatch):
    """issue 28: a folder a user created at --out mid-render was swapped out and deleted (5 of 5 times, exit 0)."""
    out = tmp_path / "out"
    made = render_folder._remove_stale_scratch

    def meanwhile(parent, name):  # runs under the lock, after the first check, before the files are written
        made(parent, name)
        out.mkdir()
        (out / "mine.txt").write_text("a user's file\n")

    monkeypatch.setattr(render_folder, "_remove_stale_scratch", meanwhile)
    with pytest.raises(render_folder.FolderError, match="was not written by `cluster-tls render`"):
        render_folder.replace_folder({"a.yaml": "a: 1\n"}, out)
    assert (out / "mine.txt").read_text() == "a user's file\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no scratch folder left
