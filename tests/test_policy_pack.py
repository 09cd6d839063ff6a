"""The policy pack's validate functions, without the Pulumi CLI, on the same fixtures as the offline rules."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

from cluster_tls.preflight.engine import RULES
from cluster_tls.preflight.policy import policies, view_from_policy_resources
from tests.test_preflight import FIXTURES

REPO = Path(__file__).resolve().parent.parent


def _resource(document: dict, index: int) -> SimpleNamespace:
    if document.get("kind") == "HelmRelease":
        props = {
            "chart": document["chart"],
            "name": document["name"],
            "namespace": document["namespace"],
            "values": document["values"],
            **({"version": document["version"]} if "version" in document else {}),
        }
        return SimpleNamespace(
            resource_type="kubernetes:helm.sh/v3:Release",
            props=props,
            urn=f"urn:{index}",
            name=document["name"],
            parent=None,
            dependencies=[],
        )
    token = f"kubernetes:{document['apiVersion']}:{document['kind']}"
    return SimpleNamespace(
        resource_type=token, props=document, urn=f"urn:{index}", name=f"r{index}", parent=None, dependencies=[]
    )


def _run(policy: dict, documents: list[dict]) -> list[str]:
    reported: list[str] = []

    def report(message, urn=None):
        reported.append(message)

    resources = [_resource(d, i) for i, d in enumerate(documents)]
    if policy["kind"] == "stack":
        policy["validate"](SimpleNamespace(resources=resources, stack_tags={"production": "false"}), report)
    else:
        for resource in resources:
            policy["validate"](resource, report)
    return reported


POLICIES = {p["name"]: p for p in policies()}


@pytest.mark.parametrize("rule_id", sorted(FIXTURES))
def test_each_policy_reports_the_failing_fixture_and_not_the_passing_one(rule_id):
    policy = POLICIES[f"cluster-tls-{rule_id.lower()}"]
    bad, good = FIXTURES[rule_id]
    assert _run(policy, bad), rule_id
    assert _run(policy, good) == []


def test_there_is_one_policy_per_rule_with_the_rules_severity():
    assert len(POLICIES) == len(RULES)
    for rule in RULES:
        policy = POLICIES[f"cluster-tls-{rule.id.lower()}"]
        assert policy["enforcement"] == ("mandatory" if rule.severity == "error" else "advisory")
        assert policy["kind"] == ("resource" if rule.per_object else "stack")


def test_dependencies_reach_the_ordering_rules():
    parent = SimpleNamespace(urn="urn:cm")
    resources = [
        SimpleNamespace(
            resource_type="kubernetes:helm.sh/v3:Release",
            props={"chart": "cert-manager", "name": "cert-manager", "namespace": "cert-manager", "values": {}},
            urn="urn:cm",
            name="cm",
            parent=None,
            dependencies=[],
        ),
        SimpleNamespace(
            resource_type="kubernetes:cert-manager.io/v1:ClusterIssuer",
            props={
                "apiVersion": "cert-manager.io/v1",
                "kind": "ClusterIssuer",
                "metadata": {"name": "ca"},
                "spec": {"ca": {"secretName": "x"}},
            },
            urn="urn:ca",
            name="ca",
            parent=None,
            dependencies=[parent],
        ),
    ]
    view = view_from_policy_resources(resources)
    assert view.waits_for("urn:ca", "urn:cm")
    reported = []
    POLICIES["cluster-tls-a3"]["validate"](SimpleNamespace(resources=resources), lambda m, urn=None: reported.append(m))
    assert reported == []
    resources[1].dependencies = []
    POLICIES["cluster-tls-a3"]["validate"](SimpleNamespace(resources=resources), lambda m, urn=None: reported.append(m))
    assert reported and reported[0].startswith("A3: ClusterIssuer ca")


def test_a_components_outputs_reach_the_rules_as_the_engine_hands_them():
    # AnalyzeStack gets every resource with its outputs, a component with what it registered: WhizardTLS's
    # whizard_version decides G1 and silences G3 (issue 18).
    patch = {
        "apiVersion": "monitoring.whizard.io/v1alpha1",
        "kind": "QueryFrontend",
        "metadata": {"name": "whizard", "namespace": "kubesphere-monitoring-system"},
        "spec": {"httpServerTLSConfig": {"certSecret": {"name": "t", "key": "tls.crt"}}},
    }
    resources = [
        SimpleNamespace(
            resource_type="cluster-tls:index:WhizardTLS",
            props={"whizard_version": "v0.10.3"},
            urn="urn:w",
            name="whizard",
            parent=None,
            dependencies=[],
        ),
        SimpleNamespace(
            resource_type="kubernetes:monitoring.whizard.io/v1alpha1:QueryFrontendPatch",
            props=patch,
            urn="urn:p",
            name="whizard-query-frontend-tls",
            parent=None,
            dependencies=[],
        ),
    ]
    found = []
    for rule in ("g1", "g3"):
        POLICIES[f"cluster-tls-{rule}"]["validate"](
            SimpleNamespace(resources=resources), lambda m, urn=None: found.append(m.split(":")[0])
        )
    assert found == ["G1"]


def test_the_pack_entry_point_builds_a_policy_pack_from_these_policies():
    source = (REPO / "policy" / "__main__.py").read_text()
    tree = ast.parse(source)
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert {"PolicyPack", "pulumi_policies"} <= calls
    assert "runtime:" in (REPO / "policy" / "PulumiPolicy.yaml").read_text()
