"""What the CLI hands a team's scripts and terminals (issue 20): exit statuses by cause, closed streams, NO_COLOR,
`render --out -`, `preview --format json`, and the program's `pulumi.export`s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest
import yaml

from cluster_tls import cli
from cluster_tls.cli import main
from cluster_tls.testing import evaluate_program, evaluate_project

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "platform"


def run(*args: str, closing: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`cluster-tls ARGS` in a shell that closes `closing` (e.g. '>&-') first."""
    command = ["bash", "-c", f'exec "$@" {closing}', "-", sys.executable, "-m", "cluster_tls.cli", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env)


def test_a_bug_of_ours_exits_3_and_bad_input_2(monkeypatch, capsys):
    def broken(evaluation):
        raise RuntimeError("an internal fault")

    monkeypatch.setattr(cli, "render_files", broken)
    assert main(["diff", "--stack", "dev", "--against", "staging"]) == 3
    assert "RuntimeError: an internal fault (set CLUSTER_TLS_DEBUG=1 for details)" in capsys.readouterr().err
    assert main(["preview", "--stack", "no-such-stack"]) == 2


def test_a_closed_stdout_refuses_what_writes_there_and_render_still_writes_its_files(tmp_path):
    refused = run("preview", "--stack", "dev", closing=">&-")
    assert refused.returncode == 2
    assert refused.stderr == "error: standard output is closed: `preview` has nowhere to write its result\n"
    assert run("render", "--stack", "dev", "--out", "-", closing=">&-").returncode == 2
    written = run("render", "--stack", "dev", "--out", str(tmp_path / "out"), closing=">&- 2>&-")
    assert written.returncode == 0
    assert (tmp_path / "out" / "manifests" / "istio-system").is_dir()


def _on_a_terminal(env: dict[str, str], *more: str) -> bytes:
    import pty

    leader, follower = pty.openpty()
    command = [sys.executable, "-m", "cluster_tls.cli", "diff", "--stack", "dev", "--against", "staging", *more]
    process = subprocess.Popen(command, cwd=REPO, stdout=follower, stderr=subprocess.DEVNULL, env=env)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        output += chunk
    process.wait()
    os.close(leader)
    return output


@pytest.mark.parametrize(("setting", "coloured"), [({}, True), ({"NO_COLOR": "1"}, False), ({"TERM": "dumb"}, False)])
def test_colour_on_a_terminal_unless_no_color_or_a_dumb_terminal(setting, coloured):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")} | {"TERM": "xterm"} | setting
    output = _on_a_terminal(env)
    assert b"stack dev against staging" in output
    assert (b"\x1b[" in output) is coloured


def test_an_explicit_color_flag_wins_over_no_color():
    """no-color.org: NO_COLOR stops colour by default; an argument given for this one run overrides it."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")} | {"TERM": "xterm", "NO_COLOR": "1"}
    assert b"\x1b[" in _on_a_terminal(env, "--color", "always")
    assert b"\x1b[" not in _on_a_terminal(env | {"NO_COLOR": ""}, "--color", "never")
    piped = run("diff", "--stack", "dev", "--against", "staging", "--color", "always")
    assert "\x1b[" in piped.stdout  # asked for, into a pipe too


def test_render_to_stdout_is_one_yaml_stream_of_every_file(tmp_path):
    streamed = run("render", "--stack", "prod", "--out", "-")
    assert streamed.returncode == 0, streamed.stderr
    assert main(["render", "--stack", "prod", "--out", str(tmp_path / "prod")]) == 0
    files = {p.relative_to(tmp_path / "prod").as_posix(): p.read_text() for p in (tmp_path / "prod").rglob("*.yaml")}
    documents = streamed.stdout.split("---\n")[1:]
    assert len(documents) == len(files)
    for document in documents:
        source, _, text = document.partition("\n")
        assert source.startswith("# Source: ")
        assert files[source.removeprefix("# Source: ")] == text
    assert len(list(yaml.safe_load_all(streamed.stdout))) == len(files)
    assert run("render", "--stack", "prod", "--out", "-").stdout == streamed.stdout  # byte-identical
    every = run("render", "--all-stacks", "--out", "-")
    assert "# Source: prod/manifests/" in every.stdout and "# Source: dev/manifests/" in every.stdout


def test_preview_as_json_has_the_rows_namespaces_exports_and_findings(capsys):
    assert main(["preview", "--stack", "prod", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["stack"] == "prod"
    by_name = {row["name"]: row for row in document["resources"]}
    assert by_name["istio-gateway"]["type"] == "cluster-tls:index:IstioHTTPSGateway"
    assert sum(document["counts"].values()) == len(document["resources"])
    assert document["namespaces"]["monitoring"].startswith("must already exist")
    assert document["outputs"]["istioGateway"]["urls"] == ["https://shop.example.com/", "https://www.example.com/"]
    assert isinstance(document["findings"], list)
    assert "offline-placeholder" not in json.dumps(document)


def test_a_programs_exports_are_shown_rendered_and_returned(tmp_path, capsys):
    result = evaluate_project(EXAMPLE, stack="dev")
    assert result.exports() == {
        "blogUrls": ["https://blog.apps.example.internal/"],
        "shopUrls": ["https://shop.apps.example.internal/"],
    }
    assert yaml.safe_load(result.render()["stack/outputs.yaml"]) == result.exports()
    assert main(["preview", "--program", str(EXAMPLE), "--stack", "dev"]) == 0
    assert 'shopUrls: ["https://shop.apps.example.internal/"]' in capsys.readouterr().out

    def program() -> None:
        pulumi.export("token", pulumi.Output.secret("Dotted.Secret-Value"))
        pulumi.export("plain", {"a": 1})

    secret = evaluate_program(program)
    assert secret.exports() == {"plain": {"a": 1}, "token": "[secret]"}
    assert "Dotted.Secret-Value" not in secret.render()["stack/outputs.yaml"]
