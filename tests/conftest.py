from __future__ import annotations

import os

# Before grpc loads (pulumi imports it): grpcio's fork support restarts its poller thread in a forked child, where
# the real tier's harness runs prctl() before exec (tests/e2e/cluster.py die_with_parent) and closes every fd; the
# thread then aborts the child (kwok died with SIGABRT, "Epoll1Poller ... epoll_wait error: Bad file descriptor").
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from cluster_tls.mockrun import Evaluation, run_program  # noqa: E402
from tests.support.schemas import Schemas  # noqa: E402

REPO = Path(__file__).resolve().parent.parent

# The real-engine tier runs with `make e2e` (CLUSTER_TLS_E2E=1), after the offline suite.
collect_ignore = [] if os.environ.get("CLUSTER_TLS_E2E") else ["e2e"]


@pytest.fixture(autouse=True, scope="session")
def _review_cache(tmp_path_factory) -> None:
    """The review cache of these tests in their own folder, never the user's ~/.cache (cluster_tls/review_cache.py)."""
    os.environ.setdefault("CLUSTER_TLS_CACHE", str(tmp_path_factory.mktemp("review-cache")))


def _shared_dir() -> Path:
    return Path(os.environ.get("CLUSTER_TLS_SHARED", REPO.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared (upstream schemas, seeds). Missing it fails under CI and skips elsewhere."""
    folder = _shared_dir()
    if not (folder / "schemas" / "index.json").is_file():
        message = f"../shared with schemas/ is required for this test and was not found at {folder}"
        # CI fails without them; the GitHub workflow, which has no ../shared, says so explicitly.
        if os.environ.get("CI") and not os.environ.get("CLUSTER_TLS_ALLOW_MISSING_SHARED"):
            pytest.fail(message)
        pytest.skip(message)
    return folder


@pytest.fixture(scope="session")
def schemas(shared: Path) -> Schemas:
    return Schemas(shared / "schemas")


@pytest.fixture
def run():
    """Run a program on a fresh mock runtime; `run(program, config={...})` -> Evaluation."""

    def _run(program, **kwargs) -> Evaluation:
        return run_program(program, **kwargs)

    return _run
