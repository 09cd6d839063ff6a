"""The corpus (tests/corpus/) through the policy pack under pulumi-policy's own analyzer, in the pack's own virtual
environment: the pack and `check` find the same rules at the same severities on every case (issue 18: the pack
once saw empty specs under the real runtime while its tests fed plain dicts). Hand-written objects go in as the
engine hands them; stack files and other programs are evaluated, and what they register goes in as the engine
hands it to AnalyzeStack: custom resources with their inputs, components with their registered outputs
(pulumi/pulumi pkg/resource/deploy/step_generator.go, AnalyzeStack "on the final outputs of each resource"),
each with its parent and dependencies, secrets in Pulumi's wire form."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from cluster_tls.cli import evaluate, stack_settings
from cluster_tls.components.base import TYPE_PREFIX
from cluster_tls.mockrun import _rewrap
from cluster_tls.preflight import run_rules
from cluster_tls.preflight.view import from_evaluation
from cluster_tls.stackfile import Project
from tests.e2e.engine import REPO
from tests.test_corpus import OBJECTS, PROGRAMS, STACKS, _project, documents, object_findings


def _through_the_pack(policy_pack: Path, cases: list[dict[str, Any]]) -> dict[str, Counter]:
    python = policy_pack.parent / "venv" / "bin" / "python"  # the pack folder links the fixture's venv
    # -P: the script's folder (tests/e2e, with its own secrets.py) must not shadow the standard library
    ran = subprocess.run(
        [str(python), "-P", str(REPO / "tests" / "e2e" / "analyzer_corpus.py")],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return {case: Counter(tuple(f) for f in found) for case, found in json.loads(ran.stdout).items()}


def test_the_pack_under_pulumi_policy_agrees_with_check_on_every_corpus_case(policy_pack):
    cases = [
        {"id": case["id"], "documents": documents(case), "production": case.get("production", False)}
        for case in OBJECTS["cases"]
    ]
    pack = _through_the_pack(policy_pack, cases)
    assert set(pack) == {case["id"] for case in OBJECTS["cases"]}
    for case in OBJECTS["cases"]:
        offline = Counter((rule.upper(), severity) for rule, severity, _ in object_findings(case))
        assert pack[case["id"]] == offline, case["id"]
    assert sum(bool(found) for found in pack.values()) >= 30  # the pack sees the specs: most cases have findings


def _registered(evaluation) -> list[dict[str, Any]]:
    """What the engine hands the analyzer of each resource the program registered."""
    resources = []
    for reg in evaluation.registrations:
        component = reg.type.startswith(TYPE_PREFIX)
        props = evaluation.outputs.get(reg.urn, {}) if component else reg.inputs
        resources.append(
            {
                "type": reg.type,
                "name": reg.name,
                "urn": reg.urn,
                "parent": reg.parent,
                "dependencies": list(reg.dependencies),
                "props": _rewrap(props),
                "component": component,
            }
        )
    return resources


def _evaluated(case: dict[str, Any], folder: Path, monkeypatch) -> tuple[list[dict[str, Any]], Counter, bool]:
    project_dir = _project(folder, case.get("config", {}), case.get("program"))
    program = None
    if "program" in case:
        monkeypatch.syspath_prepend(str(project_dir))
        sys.modules.pop("corpus_program", None)  # each case its own program
        program = importlib.import_module("corpus_program").build
    project = Project.find(project_dir)
    evaluation = evaluate("c", project, program)
    production, waivers = stack_settings(project, "c")
    findings = run_rules(from_evaluation(evaluation, production=production, stack="c"), waivers)
    # a waiver is the stack file's, which the pack does not read: compare what the rules find
    unwaived = run_rules(from_evaluation(evaluation, production=production, stack="c"))
    assert {(f.rule, f.object) for f in findings} <= {(f.rule, f.object) for f in unwaived}
    return _registered(evaluation), Counter((f.rule.upper(), f.severity) for f in unwaived), bool(production)


def test_the_pack_agrees_with_check_on_the_corpus_stacks_and_programs(policy_pack, tmp_path, monkeypatch):
    cases = [
        c
        for c in [*STACKS["cases"], *PROGRAMS["cases"]]
        if not (isinstance(c["expect"], dict) and "refused" in c["expect"])  # refused before anything registers
    ]
    assert len(cases) >= 8
    offline, sent = {}, []
    for index, case in enumerate(cases):
        (tmp_path / str(index)).mkdir()
        resources, offline[case["id"]], production = _evaluated(case, tmp_path / str(index), monkeypatch)
        sent.append({"id": case["id"], "resources": resources, "production": production})
    pack = _through_the_pack(policy_pack, sent)
    for case in cases:
        assert pack[case["id"]] == offline[case["id"]], (case["id"], pack[case["id"]], offline[case["id"]])
    assert any(pack.values())
