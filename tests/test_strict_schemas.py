"""S1 (issue 29): unknown fields refused as the API server's strict field validation refuses them, from the
upstream CRDs at the pinned versions. The real tier compares S1 with a real API server on generated objects
(tests/e2e/test_webhook_judge.py); here: the shipped data is what the script makes from ../shared, and the walk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cluster_tls.preflight import run_rules
from cluster_tls.preflight.engine import RULES
from cluster_tls.preflight.rules.schemas import schemas, unknown_fields
from cluster_tls.preflight.view import Unknown, from_manifests

REPO = Path(__file__).resolve().parent.parent
S1 = [r for r in RULES if r.id == "S1"]


def test_the_shipped_schemas_are_what_the_script_makes_from_the_upstream_crds(shared, tmp_path):
    out = tmp_path / "strict_schemas.json"
    subprocess.run(
        [sys.executable, REPO / "tools" / "strict_schemas.py", "--crds", shared / "schemas" / "crds", "--out", out],
        check=True,
        capture_output=True,
    )
    assert out.read_text() == (REPO / "cluster_tls" / "preflight" / "strict_schemas.json").read_text()
    kinds = json.loads(out.read_text())["kinds"]
    assert {e["version"] for entries in kinds.values() for e in entries} >= {"v1.21.1", "1.30.3", "v1.6.1"}


def _certificate(**spec):
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "c", "namespace": "default"},
        "spec": {"secretName": "s", "issuerRef": {"name": "ca", "kind": "ClusterIssuer"}, **spec},
    }


def test_a_field_nowhere_in_the_schema_is_named_with_the_closest_declared_one():
    found = run_rules(
        from_manifests([_certificate(privateKey={"algoritm": "ECDSA"}, dnsNames=["a.example.com"])]), rules=S1
    )
    assert [f.message.split(":")[0] for f in found] == ["unknown field 'spec.privateKey.algoritm'"]
    assert "did you mean 'algorithm'?" in found[0].message and found[0].severity == "error"


def test_free_form_maps_secrets_and_metadata_are_read_as_the_api_server_reads_them():
    good = _certificate(
        dnsNames=["a.example.com"],
        secretTemplate={"labels": {"any/label": "x"}, "annotations": {"any": "y"}},  # additionalProperties
        privateKey=Unknown(),  # a secret leaf: unknown, not judged
    )
    good["metadata"].update(labels={"a": "b"}, annotations={"c": "d"}, finalizers=["x"])
    assert run_rules(from_manifests([good]), rules=S1) == []
    bad = _certificate(dnsNames=["a.example.com"])
    bad["metadata"]["lables"] = {"a": "b"}
    assert "unknown field 'metadata.lables'" in run_rules(from_manifests([bad]), rules=S1)[0].message


def test_a_field_one_whizard_layout_has_passes():
    legacy = {"webConfig": {"httpServerTLSConfig": {"keySecret": {"name": "t", "key": "tls.key"}}}}
    query = {"apiVersion": "monitoring.whizard.io/v1alpha1", "kind": "Query", "metadata": {"name": "q"}, "spec": legacy}
    assert run_rules(from_manifests([query]), rules=S1) == []
    query["spec"] = {"webConfig": {"httpServerTLSConfigg": {}}}
    assert "httpServerTLSConfigg" in run_rules(from_manifests([query]), rules=S1)[0].message


def test_every_schema_node_is_walked_into_lists_and_maps():
    schema = schemas()["networking.istio.io/v1|Gateway"][0]["schema"]
    gateway = {"spec": {"servers": [{"tls": {"credentialName": "a"}}, {"tls": {"credentialsName": "b"}}]}}
    assert [path for path, _ in unknown_fields(gateway, schema)] == [".spec.servers[1].tls.credentialsName"]
