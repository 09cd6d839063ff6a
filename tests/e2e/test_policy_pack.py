"""The policy pack under the real `pulumi preview --policy-pack`, against `cluster-tls check` on the same program;
and a bad stack refused by the real engine with the offline message, before anything is created."""

from __future__ import annotations

import json
import re

import pytest
from pulumi import automation as auto

from cluster_tls.mockrun import folder_program
from tests.e2e.engine import REPO, Engine, Project, events_of

MISTAKES = REPO / "tests" / "e2e" / "programs" / "mistakes"
LEVEL = {"error": "mandatory", "warning": "advisory"}


def _offline_findings(project: Project, *program: str) -> set[tuple[str, str, str]]:
    checked = project.offline("check", *program, "--stack", project.stack, "--format", "json")
    assert checked.returncode in (0, 1), checked.stderr  # 1: findings
    found = set()
    for finding in json.loads(checked.stdout)["findings"]:
        resource = re.search(r"\(resource ([^)]+)\)", finding["object"])
        found.add((finding["rule"], resource.group(1) if resource else "", LEVEL[finding["severity"]]))
    return found


def _pack_findings(events) -> set[tuple[str, str, str]]:
    return {
        (
            e.policy_name.removeprefix("cluster-tls-").upper(),
            (e.resource_urn or "").rpartition("::")[2],
            str(e.enforcement_level),
        )
        for e in events.kept
    }


def test_the_pack_fails_the_preview_as_check_does(engine: Engine, policy_pack, cluster, tmp_path):
    project = Project.copy_of(
        MISTAKES, MISTAKES / "Pulumi.e2e.yaml", "e2e", tmp_path / "project", {}, folder_program(MISTAKES)
    )
    stack = engine.stack(project)
    events = events_of("policy_event")
    with pytest.raises(auto.errors.CommandError) as failed:
        stack.preview(policy_packs=[str(policy_pack)], on_event=events)
    assert "mandatory" in str(failed.value) or "policy violation" in str(failed.value).lower(), failed.value
    offline = _offline_findings(project, "--program", str(MISTAKES))
    assert {f[0] for f in offline} >= {"C1"}
    pack = _pack_findings(events)
    # rule ids are case-folded in policy names (B1a -> b1a)
    assert {(r.upper(), n, lvl) for r, n, lvl in offline} == pack
    assert cluster.kube.get("cert-manager.io/v1", "ClusterIssuer", "e2e-selfsigned") is None
    stack.workspace.remove_stack(project.stack, force=True)


def test_a_bad_stack_is_refused_with_the_offline_message(engine: Engine, cluster, tmp_path):
    bad = {
        "cluster-tls:privateCa": {"scope": "cluster", "duration": "10y"},
        "cluster-tls:certManager": {"install": False},
    }
    with engine.stack_of(REPO / "stacks" / "Pulumi.dev.yaml", "bad", tmp_path / "project", bad) as (project, stack):
        offline = project.offline("preview", "--stack", "bad")
        assert offline.returncode == 2
        message = next(line.strip(" -") for line in offline.stderr.splitlines() if "privateCa.duration" in line)
        with pytest.raises(auto.errors.CommandError) as failed:
            stack.preview()
        assert message in str(failed.value)
        assert "Traceback" not in str(failed.value)
        assert stack.export_stack().deployment.get("resources") in (None, [])
        assert cluster.kube.get("cert-manager.io/v1", "ClusterIssuer", "dev-ca") is None
