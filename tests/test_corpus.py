"""The corpus of issue 18: mistakes users reported and correct set-ups, each citing its source, through hand-written
objects (tests/corpus/objects.yaml), stack files (stacks.yaml) and other programs (programs.yaml). A mistake must be
found by its rule at the severity its effect has; a correct set-up must pass with no error. The same cases run
through the policy pack under pulumi-policy's own analyzer in the real-engine tier (tests/e2e/test_corpus_pack.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from cluster_tls.cli import main
from cluster_tls.preflight import run_rules
from cluster_tls.preflight.view import from_manifests

CORPUS = Path(__file__).resolve().parent / "corpus"


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((CORPUS / name).read_text())


OBJECTS = _load("objects.yaml")
STACKS = _load("stacks.yaml")
PROGRAMS = _load("programs.yaml")


def documents(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The case's objects after the shared ones it names (`with`)."""
    return [*(d for name in case.get("with", []) for d in OBJECTS["shared"][name]), *case["objects"]]


def object_findings(case: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(rule, severity, message) of every finding `check` makes on the case's objects."""
    docs = documents(case)
    view = from_manifests(docs, production=case.get("production", False))
    for release in (d for d in docs if d.get("kind") == "HelmRelease"):
        view.plain_inputs[release["name"]] = {"values": release["values"]}
    return [(f.rule, f.severity, f.message) for f in run_rules(view)]


def _judge(case: dict[str, Any], findings: list[tuple[str, str, str]]) -> None:
    expect = case["expect"]
    if expect == "clean":
        errors = [f for f in findings if f[1] == "error"]
        assert not errors, f"{case['id']}: a correct set-up was refused: {errors}"
        return
    matching = [f for f in findings if f[0] == expect["rule"]]
    assert matching, f"{case['id']}: {expect['rule']} did not find it; found {findings}"
    assert {f[1] for f in matching} == {expect["severity"]}, f"{case['id']}: severity {matching}"
    if "says" in expect:
        assert any(expect["says"] in f[2] for f in matching), matching


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["id"] for case in cases]


@pytest.mark.parametrize("case", OBJECTS["cases"], ids=_ids(OBJECTS["cases"]))
def test_hand_written_objects(case):
    _judge(case, object_findings(case))


def _project(tmp_path: Path, config: dict[str, Any], program: str | None = None) -> Path:
    """This project's layout for a stack file (`stacks/`); another team's for a program (its own name, stack file
    beside Pulumi.yaml, the program as a module)."""
    stacks = tmp_path if program else tmp_path / "stacks"
    stacks.mkdir(exist_ok=True)
    project = "name: corpus\n" if program else "name: cluster-tls\nstackConfigDir: stacks\n"
    (tmp_path / "Pulumi.yaml").write_text(project + "runtime: python\n")
    (stacks / "Pulumi.c.yaml").write_text(yaml.safe_dump({"config": config}))
    if program:
        (tmp_path / "corpus_program.py").write_text(program)
    return tmp_path


def _check(capsys, project: Path, *program: str) -> tuple[int, list[tuple[str, str, str]], str]:
    code = main(["--project-dir", str(project), "check", *program, "--stack", "c", "--format", "json"])
    out, err = capsys.readouterr()
    if code == 2:
        return code, [], err
    findings = [(f["rule"], f["severity"], f["message"]) for f in json.loads(out)["findings"]]
    return code, findings, err


def _judge_run(case: dict[str, Any], code: int, findings: list[tuple[str, str, str]], err: str) -> None:
    expect = case["expect"]
    if isinstance(expect, dict) and "refused" in expect:
        assert code == 2 and expect["refused"] in err, (
            f"{case['id']}: expected a refusal with {expect['refused']!r}: {err}"
        )
        return
    assert code in (0, 1), f"{case['id']}: refused: {err}"
    _judge(case, findings)


@pytest.mark.parametrize("case", STACKS["cases"], ids=_ids(STACKS["cases"]))
def test_stack_files(case, tmp_path, capsys):
    _judge_run(case, *_check(capsys, _project(tmp_path, case["config"])))


@pytest.mark.parametrize("case", PROGRAMS["cases"], ids=_ids(PROGRAMS["cases"]))
def test_other_programs(case, tmp_path, capsys, monkeypatch):
    project = _project(tmp_path, case.get("config", {}), case["program"])
    monkeypatch.syspath_prepend(str(project))
    monkeypatch.delitem(sys.modules, "corpus_program", raising=False)  # each case its own program
    _judge_run(case, *_check(capsys, project, "--program", "corpus_program:build"))


def test_the_corpus_has_sixty_cases_with_fifteen_correct_ones_each_citing_its_source():
    cases = [*OBJECTS["cases"], *STACKS["cases"], *PROGRAMS["cases"]]
    assert len(cases) >= 60 and len({c["id"] for c in cases}) == len(cases)
    assert sum(c["expect"] == "clean" for c in cases) >= 15
    assert all(c.get("source", "").strip() for c in cases)
    assert STACKS["cases"] and PROGRAMS["cases"]


_ORDER_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from test_corpus import OBJECTS, object_findings
from cluster_tls.cli import main
print(json.dumps([object_findings(case) for case in OBJECTS["cases"]]))
# A rule finding several things about one object, in the order a set of names iterates (the hash seed's order).
from cluster_tls.preflight.engine import Rule, run_rules
from cluster_tls.preflight.view import from_manifests
hosts = {{f"h{{i}}.example.com" for i in range(20)}}
several = Rule("X1", "warning", "several", lambda view: [("gateway web", f"{{h}} is odd") for h in hosts], False)
print([f.message for f in run_rules(from_manifests([]), rules=[several])])
sys.stdout.flush()
main(["check", "--all-stacks", "--format", "json"])
"""


def test_findings_come_out_in_one_order_whatever_the_hash_seed():
    """issue 31: the order of findings depended on PYTHONHASHSEED. Every corpus case and every shipped stack,
    checked in processes with different hash seeds, gives the same output."""
    import os
    import subprocess

    script = _ORDER_SCRIPT.format(tests=str(Path(__file__).resolve().parent))
    outputs = set()
    for seed in ("0", "1", "2", "123"):
        result = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert result.returncode in (0, 1), result.stderr
        outputs.add(result.stdout)
    assert len(outputs) == 1
