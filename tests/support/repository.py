"""Git repositories for review tests: a copy of this project, or another team's, committed as a pull request's base."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
NOT_SOURCE = (".venv*", ".git", "__pycache__", "*.egg-info", "rendered", ".pytest_cache", "build")


def git(root: Path, *args: str) -> str:
    command = ["git", "-C", str(root), "-c", "user.email=t@example.com", "-c", "user.name=t", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def commit_all(root: Path, message: str = "base") -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def committed_copy(source: Path, root: Path) -> Path:
    """`source` copied to `root` (without environments and caches) as a repository with one commit."""
    shutil.copytree(source, root, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    git(root, "init", "-q", "-b", "main")
    commit_all(root)
    return root


def platform_repository(root: Path, prepare: Callable[[Path], None] | None = None) -> Path:
    """Another team's repository at `root`: examples/platform (their program, on the installed package) with
    three stacks (dev, staging, prod) and a lock file, after `prepare(root)`, committed as the base."""
    shutil.copytree(REPO / "examples" / "platform", root)
    if prepare is not None:
        prepare(root)
    (root / "requirements.lock").write_text("cluster-tls==0.2.0\n")
    stack = (root / "Pulumi.dev.yaml").read_text()
    for name in ("staging", "prod"):
        (root / f"Pulumi.{name}.yaml").write_text(stack.replace("apps.example.internal", f"{name}.example.com"))
    git(root, "init", "-q", "-b", "main")
    commit_all(root)
    return root
