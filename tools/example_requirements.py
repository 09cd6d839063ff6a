"""`make lock`: examples/platform/requirements.txt, what a program in its own repository installs to use
cluster-tls, every file by its sha256: cluster-tls's run-time dependencies (requirements.lock) and the setuptools
that builds it (requirements-build.lock). cluster-tls itself is pinned by its commit, since pip cannot hash a git
requirement ("Can't verify hashes for these requirements because we don't have a way to hash version control
repositories"); the commands are in the file's header.

    python tools/example_requirements.py
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "platform" / "requirements.txt"
HEADER = """\
# What this program installs, every file by its sha256: cluster-tls's run-time dependencies (its requirements.lock)
# and the setuptools that builds it (its requirements-build.lock), made by `make lock` in cluster-tls
# (tools/example_requirements.py). In your repository, take this file from the cluster-tls commit you pin:
#
#   pip install --require-hashes --only-binary=:all: -r requirements.txt
#   pip install --no-deps --no-build-isolation "cluster-tls @ git+https://<your-git-host>/cluster-tls.git@<commit>"
#
# pip cannot hash a git requirement, so cluster-tls is pinned by its 40-character commit id (git names a commit by
# the hash of its content); --no-deps and --no-build-isolation keep that step to what the first one installed.
"""


def expected() -> str:
    locks = ((REPO / name).read_text() for name in ("requirements.lock", "requirements-build.lock"))
    return HEADER + "".join(locks)


if __name__ == "__main__":
    EXAMPLE.write_text(expected())
