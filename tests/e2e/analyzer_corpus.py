"""Run in the policy pack's own virtual environment: the corpus's hand-written objects through pulumi-policy's real
analyzer (the servicer `pulumi preview --policy-pack` talks to, its protobuf requests, its deserialization and its
read-only property proxies), the pack's policies as policy/__main__.py builds them (`pulumi_policies`).

    <policy-venv>/bin/python tests/e2e/analyzer_corpus.py < cases.json > findings.json

Input: [{"id", "documents" or "resources", "production"}]; output: {id: [[rule, severity], ...]}. `resources` are
what a program registered, as the engine hands them ({type, name, urn, parent, dependencies, props} with secrets in
Pulumi's wire form; a component's props are its registered outputs).
"""

from __future__ import annotations

import json
import sys

from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

from cluster_tls.preflight.policy import pulumi_policies

SEVERITY = {analyzer_pb2.MANDATORY: "error", analyzer_pb2.ADVISORY: "warning"}


def _servicer() -> _PolicyAnalyzerServicer:
    """The analyzer `PolicyPack(name="cluster-tls", policies=pulumi_policies())` serves (policy/__main__.py)."""
    return _PolicyAnalyzerServicer(
        "cluster-tls", "0.0.1", pulumi_policies(), EnforcementLevel.ADVISORY, None, None, None, None, None, None, None
    )


def _resource(document: dict, index: int) -> dict:
    if document.get("kind") == "HelmRelease":
        props = {k: document[k] for k in ("chart", "name", "namespace", "values", "version") if k in document}
        return {"type": "kubernetes:helm.sh/v3:Release", "props": props, "name": document["name"], "index": index}
    token = f"kubernetes:{document['apiVersion']}:{document['kind']}"
    return {"type": token, "props": document, "name": f"r{index}", "index": index}


def _ordered(resources: list[dict]) -> list[dict]:
    """Hand-written objects carry no ordering; as a program that orders them right would (A3 has its own cases),
    cert-manager's objects depend on a cert-manager release of the case."""
    release = next(
        (r for r in resources if r["type"].endswith(":Release") and r["props"].get("chart") == "cert-manager"), None
    )
    for r in resources:
        if release is not None and r["type"].startswith(
            ("kubernetes:cert-manager.io/", "kubernetes:acme.cert-manager.io/")
        ):
            r["dependencies"] = [f"urn:pulumi:corpus::corpus::{release['type']}::{release['name']}"]
    return resources


def analyze(servicer: _PolicyAnalyzerServicer, resources: list[dict], production: bool) -> list[list[str]]:
    # The stack's tags reach the pack as `pulumi preview` sends them (D3 and D3b read `production`).
    tags = {"production": "true" if production else "false"}
    servicer.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(tags=tags), None)
    diagnostics = []
    stack = analyzer_pb2.AnalyzeStackRequest()
    for r in resources:
        urn = r.get("urn") or f"urn:pulumi:corpus::corpus::{r['type']}::{r['name']}"
        properties = json_format.ParseDict(r["props"], struct_pb2.Struct())
        if not r.get("component"):  # the engine asks Analyze of custom resources only, with their inputs
            one = analyzer_pb2.AnalyzeRequest(type=r["type"], properties=properties, urn=urn, name=r["name"])
            diagnostics += servicer.Analyze(one, None).diagnostics
        stack.resources.append(
            analyzer_pb2.AnalyzerResource(
                type=r["type"],
                properties=properties,
                urn=urn,
                name=r["name"],
                parent=r.get("parent", ""),
                dependencies=r.get("dependencies", []),
            )
        )
    diagnostics += servicer.AnalyzeStack(stack, None).diagnostics
    return sorted(
        [d.policyName.removeprefix("cluster-tls-").upper(), SEVERITY[d.enforcementLevel]] for d in diagnostics
    )


if __name__ == "__main__":
    servicer = _servicer()
    cases = json.load(sys.stdin)
    found = {}
    for case in cases:
        resources = case.get("resources") or _ordered(
            [_resource(d, i) for i, d in enumerate(case.get("documents", []))]
        )
        found[case["id"]] = analyze(servicer, resources, case["production"])
    json.dump(found, sys.stdout)
