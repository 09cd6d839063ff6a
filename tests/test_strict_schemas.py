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


def _deployment(**pod):
    container = {"name": "app", "image": "app:1", "ports": [{"containerPort": 8443}], **pod.pop("container", {})}
    template = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [container], **pod}}
    spec = {"selector": {"matchLabels": {"app": "a"}}, "template": template}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a", "namespace": "apps"}, "spec": spec}


def test_built_in_kinds_are_judged_by_kubernetes_own_definitions():
    assert (
        run_rules(from_manifests([_deployment(volumes=[{"name": "tls", "secret": {"secretName": "t"}}])]), rules=S1)
        == []
    )
    found = run_rules(from_manifests([_deployment(volumes=[{"name": "tls", "secret": {"secretname": "t"}}])]), rules=S1)
    assert [f.message.split(":")[0] for f in found] == [
        "unknown field 'spec.template.spec.volumes[0].secret.secretname'"
    ]
    assert "did you mean 'secretName'?" in found[0].message
    # a reference is followed at any depth: a pod template's own ObjectMeta, a container's resources (Quantity)
    nested = _deployment(container={"resources": {"limits": {"memory": "64Mi"}}, "volumeMount": []})
    nested["spec"]["template"]["metadata"]["lables"] = {"a": "b"}
    paths = sorted(f.message.split("'")[1] for f in run_rules(from_manifests([nested]), rules=S1))
    assert paths == ["spec.template.metadata.lables", "spec.template.spec.containers[0].volumeMount"]
    assert "Kubernetes v1.36" in run_rules(from_manifests([nested]), rules=S1)[0].message


def test_free_form_built_in_fields_take_anything():
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Thing", "plural": "things"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "default": {"any": {"thing": 1}}}},
                }
            ],
        },
    }
    revision = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "r"}, "revision": 1}
    revision["data"] = {"anything": {"at": ["all"]}}  # runtime.RawExtension
    assert run_rules(from_manifests([crd, revision]), rules=S1) == []
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["propertys"] = {}
    assert "propertys'" in run_rules(from_manifests([crd]), rules=S1)[0].message


S2 = [r for r in RULES if r.id == "S2"]
FIELDS = REPO / "cluster_tls" / "preflight" / "cert_manager_fields.json"


def _installing(version, *objects):
    release = {"kind": "HelmRelease", "chart": "cert-manager", "name": "cert-manager", "version": version}
    return from_manifests([release, *objects] if version else list(objects))


def test_a_field_newer_than_the_installed_cert_manager_is_named_with_its_release():
    certificate = _certificate(dnsNames=["a.example.com"], nameConstraints={"permitted": {"dnsDomains": ["a.com"]}})
    found = run_rules(_installing("v1.12.3", certificate), rules=S2)
    assert [f.message.split(" is declared")[0] for f in found] == ["field 'spec.nameConstraints'"]
    assert "from v1.14.0; this stack installs cert-manager v1.12.3" in found[0].message
    assert found[0].severity == "error"
    assert run_rules(_installing("v1.14.0", certificate), rules=S2) == []
    assert run_rules(_installing(None, certificate), rules=S2) == []  # installed elsewhere: not known here


def test_fields_in_lists_and_inside_newer_fields_are_named_once_where_the_api_server_names_them():
    solver = {"http01": {"ingress": {"ingressClassName": "nginx"}}}
    issuer = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": "le"},
        "spec": {"acme": {"server": "https://a/dir", "privateKeySecretRef": {"name": "k"}, "solvers": [{}, solver]}},
    }
    found = run_rules(_installing("v1.11.4", issuer), rules=S2)
    assert [f.message.split("'")[1] for f in found] == ["spec.acme.solvers[1].http01.ingress.ingressClassName"]
    # renewal (v1.21) holds windows[].cron: one finding, for the outer field
    late = _certificate(dnsNames=["a.example.com"], renewal={"windows": [{"cron": "0 1 * * *"}]})
    assert [f.message.split("'")[1] for f in run_rules(_installing("v1.20.2", late), rules=S2)] == ["spec.renewal"]


def test_the_field_history_names_declared_fields_and_ends_at_the_pinned_release(monkeypatch):
    history = json.loads(FIELDS.read_text())
    releases = sorted(history["releases"], key=lambda v: tuple(int(p) for p in v.lstrip("v").split(".")))
    build = (REPO / "tools" / "e2e" / "build.sh").read_text()
    assert releases[-1] == build.split("CERT_MANAGER_VERSION=")[1].split()[0]
    assert all(r["sum"].startswith("h1:") and r["module"].endswith(v) for v, r in history["releases"].items())
    monkeypatch.syspath_prepend(str(REPO / "tools"))  # the scripts import each other as scripts do
    from cert_manager_fields import field_paths

    for key, since in history["since"].items():
        declared = field_paths(schemas()[key][0]["schema"])
        assert set(since) <= declared, set(since) - declared
        assert set(since.values()) <= set(releases[1:])


def test_the_webhook_is_judged_on_what_the_installed_api_server_hands_it():
    """A field the installed release's CRDs lack is dropped before cert-manager's webhook sees it: CM1 does not
    also refuse it for a feature gate (nameConstraints: declared from v1.14, its gate on from v1.17)."""
    constrained = _certificate(
        dnsNames=["a.example.com"], isCA=True, nameConstraints={"permitted": {"dnsDomains": ["example.com"]}}
    )
    cm1_s2 = [r for r in RULES if r.id in ("CM1", "S2")]
    by_version = {
        version: sorted(f.rule for f in run_rules(_installing(version, constrained), rules=cm1_s2))
        for version in ("v1.12.3", "v1.15.0", "v1.17.0")
    }
    assert by_version == {"v1.12.3": ["S2"], "v1.15.0": ["CM1"], "v1.17.0": []}
    solver = {"http01": {"ingress": {"ingressClassName": "nginx"}}}
    issuer = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Issuer",
        "metadata": {"name": "le", "namespace": "apps"},
        "spec": {"acme": {"server": "https://a/dir", "privateKeySecretRef": {"name": "k"}, "solvers": [solver]}},
    }
    found = run_rules(_installing("v1.11.0", issuer), rules=cm1_s2)
    assert [f.rule for f in found] == ["S2"] and issuer["spec"]["acme"]["solvers"][0] == solver  # judged on a copy
