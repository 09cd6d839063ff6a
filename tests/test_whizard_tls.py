"""WhizardTLS: a leaf from a CA chain served by Whizard, patches at the version's path, KubeSphere verifying."""

from __future__ import annotations

import shutil
import ssl
from pathlib import Path

import pytest
import yaml

from cluster_tls.cli import evaluate
from cluster_tls.components.kubesphere_config import point_at_https
from cluster_tls.components.model import ArgsError
from cluster_tls.components.plan import PlanError
from cluster_tls.components.whizard import WhizardTLS, WhizardTLSArgs
from cluster_tls.manifests import dump_yaml, kubernetes_objects, render_files
from cluster_tls.mockrun import SAMPLES, Evaluation
from cluster_tls.stackfile import Project
from tests.support.pki import CertManager
from tests.support.tls_loopback import OneShotServer, client_context, plaintext_request, server_context, tls_request

REPO = Path(__file__).resolve().parent.parent
SEED_FILE = Path(__file__).parent / "seeds" / "Pulumi.seed-000.yaml"
KS = {"edition": "kse", "version": "v3.4.1"}
NS = "kubesphere-monitoring-system"
TLS = {"certSecret": {"name": "whizard-tls", "key": "tls.crt"}, "keySecret": {"name": "whizard-tls", "key": "tls.key"}}


def build(args):
    def program():
        WhizardTLS("whizard", args)

    return program


def patches(evaluation):
    return {
        r.inputs["kind"]: r.inputs
        for r in evaluation.registrations
        if r.type.startswith("kubernetes:monitoring.whizard.io/v1alpha1:")
    }


@pytest.mark.parametrize(
    "version,path",
    [
        ("v0.7.0", ["httpServerTLSConfig"]),
        ("v0.9.0", ["httpServerTLSConfig"]),
        ("v0.10.3", ["webConfig", "httpServerTLSConfig"]),
    ],
)
def test_each_resource_is_patched_at_the_path_its_version_reads(run, version, path):
    found = patches(run(build({"whizardVersion": version})))
    assert sorted(found) == ["Query", "QueryFrontend", "Router"]
    for kind, body in found.items():
        assert body["metadata"] == {
            "name": "whizard",
            "namespace": NS,
            "annotations": {"pulumi.com/patchFieldManager": "cluster-tls"},
        }, kind
        spec = body["spec"]
        for part in path:
            spec = spec[part]
        assert spec == TLS, kind


def test_gateway_uses_web_config_from_v0_9(run):
    found = patches(run(build({"whizardVersion": "v0.9.0", "components": {"gateway": True}})))
    assert found["Gateway"]["spec"] == {"webConfig": {"httpServerTLSConfig": TLS}}
    assert found["Query"]["spec"] == {"httpServerTLSConfig": TLS}


@pytest.mark.parametrize("version,schema_suffix", [("v0.9.0", ".legacy-v0.9.0"), ("v0.10.3", "")])
def test_patches_validate_against_their_versions_crd_and_not_the_other(run, schemas, version, schema_suffix):
    other = "" if schema_suffix else ".legacy-v0.9.0"
    for kind, body in patches(run(build({"whizardVersion": version}))).items():
        document = yaml.safe_load(dump_yaml(body))
        assert schemas.crd_errors({**document, "kind": kind + schema_suffix}) == [], kind
        # the other layout's path is unknown there: the API server would prune it and TLS would stay off
        assert schemas.crd_errors({**document, "kind": kind + other}) != [], kind


def test_the_leaf_is_not_a_ca_and_carries_every_service_name(run, schemas):
    evaluation = run(
        build({"whizardVersion": "v0.10.3", "clusterDomain": "cluster.local", "components": {"gateway": True}})
    )
    leaf = evaluation.named("whizard-certificate").inputs
    assert leaf["metadata"]["namespace"] == NS and "isCA" not in leaf["spec"]
    names = leaf["spec"]["dnsNames"]
    for app in ("query-frontend", "query", "router", "gateway"):
        service = f"{app}-whizard-operated"
        assert {f"{service}.{NS}.svc", f"{service}.{NS}", f"{service}.{NS}.svc.cluster.local"} <= set(names)
    assert leaf["spec"]["ipAddresses"] == ["127.0.0.1"]
    assert leaf["spec"]["usages"] == ["digital signature", "key encipherment", "server auth"]
    assert schemas.crd_errors(leaf) == []
    # the patches wait for the leaf's Secret
    for reg in evaluation.registrations:
        if reg.type.startswith("kubernetes:monitoring.whizard.io"):
            assert evaluation.named("whizard-certificate").urn in reg.explicit_dependencies


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"whizardVersion": "v0.6.2"}, "has no httpServerTLSConfig: it arrived in v0.7.0"),
        ({"whizardVersion": "v0.8.0", "components": {"gateway": True}}, "has no Gateway webConfig"),
        ({"kubesphere": {"edition": "kse", "version": "v3.4.0"}}, "needs KSE >= 3.4.1"),
        ({"kubesphere": {"edition": "kubesphere", "version": "v3.4.1"}}, "kubesphere/ks-installer#2240"),
        ({"components": {"queryFrontend": False, "query": False, "router": False}}, "select at least one"),
        ({"issuer": {"name": "selfsigned", "kind": "ClusterIssuer", "type": "selfSigned"}}, "is selfSigned"),
        ({"clientCa": True}, "no Whizard release (checked to v0.10.3) can require client certificates"),
        ({"clientCa": True, "whizardVersion": "v0.9.0", "components": {"gateway": True}}, "sets no client_auth_type"),
        ({"clientCa": True, "whizardVersion": "v0.8.0"}, "ignore clientCASecret"),
        ({"kubesphere": {**KS, "caMountPath": "relative/path"}}, "String should match pattern"),
    ],
)
def test_refusals(overrides, message):
    with pytest.raises(ArgsError) as raised:
        WhizardTLSArgs.model_validate({"whizardVersion": "v0.10.3", **overrides})
    assert message in str(raised.value)


def test_verification_with_a_namespaced_ca_elsewhere_is_refused_before_registering(run):
    from cluster_tls.mockrun import Evaluation

    args = {"whizardVersion": "v0.9.0", "ca": {"scope": "namespaced", "namespace": NS}, "kubesphere": KS}
    evaluation = Evaluation()
    with pytest.raises(PlanError, match="ks-apiserver in 'kubesphere-system' needs the CA as a file"):
        run(build(args), evaluation=evaluation)
    assert evaluation.registrations == []
    # the seed's way, insecure, is possible and says so
    evaluation = run(build({**args, "kubesphere": {**KS, "verify": False}}))
    assert any("insecureSkipVerify: true" in log for log in evaluation.logs)
    assert evaluation.outputs[evaluation.named("whizard").urn]["insecure"] is True


def test_kubesphere_gets_the_ca_mounted_and_its_config_points_at_https(run):
    evaluation = run(build({"whizardVersion": "v0.10.3", "kubesphere": KS}))
    client = evaluation.named("whizard-kubesphere-client").inputs
    assert client["metadata"]["namespace"] == "kubesphere-system"
    assert client["spec"]["usages"] == ["digital signature", "key encipherment", "client auth"]
    mount = evaluation.named("whizard-apiserver-mount").inputs
    # The live Deployment's entries first, by their keys only, then ours (components/mount_patch.py).
    assert mount["spec"]["template"]["spec"] == {
        "volumes": [
            {"name": "kubesphere-config"},
            {"name": "host-time"},
            {"name": "whizard-tls", "secret": {"secretName": "whizard-client-tls"}},
        ],
        "containers": [
            {
                "name": "ks-apiserver",
                "volumeMounts": [
                    {"name": "kubesphere-config", "mountPath": "/etc/kubesphere/"},
                    {"name": "host-time", "mountPath": "/etc/localtime"},
                    {"name": "whizard-tls", "mountPath": "/etc/kubesphere/whizard-tls", "readOnly": True},
                ],
            }
        ],
    }
    config = evaluation.named("whizard-kubesphere-config")
    assert config.inputs["metadata"]["annotations"]["pulumi.com/patchForce"] == "true"
    # the document holds KubeSphere's own secrets: secret as a value, its key stays reviewable
    assert repr(config.inputs["data"]) == "{'kubesphere.yaml': [secret]}"
    document = yaml.safe_load(config.inputs["data"]["kubesphere.yaml"].reveal())
    endpoint = f"https://query-frontend-whizard-operated.{NS}.svc:10902"
    tls = {"caFile": "/etc/kubesphere/whizard-tls/ca.crt", "insecureSkipVerify": False}
    assert document["observability"]["monitoring"] == {"endpoint": endpoint, "httpClientConfig": {"tlsConfig": tls}}
    assert document["alerting"]["thanosRulerEndpoint"] == endpoint
    assert document["alerting"]["thanosRulerHTTPClientConfig"] == {"tlsConfig": tls}
    # every other key as it was
    before = yaml.safe_load((SAMPLES / "kubesphere-config.yaml").read_text())
    for key in set(before) - {"observability", "alerting"}:
        assert document[key] == before[key], key
    # clients switch to https only after the servers serve it, and after the CA is mounted
    for name in ("whizard-query-frontend-tls", "whizard-apiserver-mount"):
        assert evaluation.named(name).urn in config.explicit_dependencies
    patched = evaluation.named("whizard-query-frontend-tls").inputs["spec"]["webConfig"]["httpServerTLSConfig"]
    # no clientCASecret: Whizard would write it without a client_auth_type and the server would not start
    assert patched == {
        "certSecret": {"name": "whizard-tls", "key": "tls.crt"},
        "keySecret": {"name": "whizard-tls", "key": "tls.key"},
    }
    outputs = evaluation.outputs[evaluation.named("whizard").urn]
    assert len(outputs["kubesphere_config_changes"]) == 4 and "jwt" not in str(outputs)


ODD = """\
# KubeSphere config, hand-edited
authentication:
    jwtSecret: 'keep-me'      # quoted, commented
    oauthOptions: {accessTokenMaxAge: 2h, accessTokenInactivityTimeout: 30m}
observability:
    enabled: true
    monitoring:
        endpoint: http://old:9090   # the agent proxy
alerting:
    thanosRulerEndpoint: "http://old:9090"
multicluster: {clusterRole: none}
"""


def test_the_kubesphere_yaml_edit_keeps_everything_else_and_is_idempotent():
    tls = {"caFile": "/ca.crt"}
    once, changes = point_at_https(ODD, "https://new:10902", tls)
    assert [c.path for c in changes] == [
        "observability.monitoring.endpoint",
        "observability.monitoring.httpClientConfig.tlsConfig",
        "alerting.thanosRulerEndpoint",
        "alerting.thanosRulerHTTPClientConfig.tlsConfig",
    ]
    assert "# KubeSphere config, hand-edited" in once and "# quoted, commented" in once and "# the agent proxy" in once
    assert "jwtSecret: 'keep-me'" in once and "oauthOptions: {accessTokenMaxAge: 2h" in once
    assert "    enabled: true" in once  # the document's 4-space indentation stays
    before, after = yaml.safe_load(ODD), yaml.safe_load(once)
    assert after["authentication"] == before["authentication"] and after["multicluster"] == before["multicluster"]
    twice, again = point_at_https(once, "https://new:10902", tls)
    assert twice == once and again == []


def seed_project(tmp_path: Path) -> Project:
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    shutil.copy(SEED_FILE, tmp_path / "stacks" / SEED_FILE.name)
    return Project.find(tmp_path)


def test_the_seed_as_stack_config_keeps_its_names_with_a_leaf_and_verification(tmp_path, schemas):
    evaluation = evaluate("seed-000", seed_project(tmp_path))
    files = render_files(evaluation)
    ca = yaml.safe_load(files["manifests/cert-manager/certificate.cert-manager.io.whizard-tls-certs.yaml"])
    assert ca["spec"]["isCA"] is True and ca["spec"]["secretName"] == "whizard-tls-assets"
    assert ca["spec"]["duration"] == "87600h" and ca["spec"]["commonName"] == "whizard-tls-assets"
    assert ca["spec"]["subject"] == {"organizations": ["cluster.local", "cert-manager"]}
    assert yaml.safe_load(files["manifests/_cluster/clusterissuer.cert-manager.io.selfsigned.yaml"])["spec"] == {
        "selfSigned": {}
    }
    assert yaml.safe_load(files["manifests/_cluster/clusterissuer.cert-manager.io.whizard-tls-assets.yaml"])[
        "spec"
    ] == {"ca": {"secretName": "whizard-tls-assets"}}
    leaf = yaml.safe_load(files[f"manifests/{NS}/certificate.cert-manager.io.whizard-tls.yaml"])
    assert leaf["spec"]["issuerRef"] == {
        "name": "whizard-tls-assets",
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }
    for service in ("query", "query-frontend", "router"):
        assert f"{service}-whizard-operated.{NS}.svc" in leaf["spec"]["dnsNames"]
    assert leaf["spec"]["ipAddresses"] == ["127.0.0.1"] and "isCA" not in leaf["spec"]
    frontend = yaml.safe_load(files[f"manifests/{NS}/queryfrontendpatch.monitoring.whizard.io.whizard.yaml"])
    assert frontend["spec"] == {"httpServerTLSConfig": TLS}  # v0.9.0: the seed's path; keys tls.crt / tls.key
    outputs = yaml.safe_load(files["outputs/whizard.yaml"])
    assert outputs["insecure"] is False
    assert any("caFile" in line for line in outputs["kubesphere_config_changes"])
    for obj in kubernetes_objects(evaluation):
        body = yaml.safe_load(dump_yaml(obj.body))
        if obj.api_version.startswith("monitoring.whizard.io"):
            body["kind"] += ".legacy-v0.9.0"  # the seed's Whizard: v0.9.0 layout
        assert schemas.object_errors(body, patch=obj.kind.endswith("Patch")) == [], obj.path


def test_a_client_trusting_the_ca_reaches_query_frontend_over_tls_only(run, tmp_path):
    evaluation = run(build({"whizardVersion": "v0.10.3"}))
    manager = CertManager()
    for name in ("whizard-ca-selfsigned-issuer", "whizard-ca-ca-certificate", "whizard-ca-ca-issuer"):
        manager.apply(evaluation.named(name).inputs)
    served = manager.apply(evaluation.named("whizard-certificate").inputs)
    assert (
        served.certificate.extensions.get_extension_for_class(__import__("cryptography").x509.BasicConstraints).value.ca
        is False
    )
    files = served.write(tmp_path / "whizard-tls")
    host = f"query-frontend-whizard-operated.{NS}.svc"
    with OneShotServer(server_context(files["tls.crt"], files["tls.key"], client_ca=None)) as server:
        assert tls_request(server.port, client_context(files["ca.crt"]), host) == b"OK ping"
    with OneShotServer(server_context(files["tls.crt"], files["tls.key"], client_ca=None)) as server:
        assert b"OK" not in plaintext_request(server.port)
    with OneShotServer(server_context(files["tls.crt"], files["tls.key"], client_ca=None)) as server:
        with pytest.raises(ssl.SSLCertVerificationError):
            tls_request(server.port, client_context(files["ca.crt"]), "query-frontend-whizard-operated.other.svc")


def test_the_patch_check_still_catches_unknown_fields(schemas):
    bad = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"template": {"spec": {"volumez": []}}},
    }
    assert schemas.patch_errors(bad) != []
    good = {**bad, "spec": {"template": {"spec": {"volumes": []}}}}
    assert schemas.patch_errors(good) == []


# issue 19: a wrong whizardVersion made the API server prune the TLS block silently. Against a cluster the
# component reads each resource's installed CRD (the real ones here, ../shared/schemas/crds/whizard) and refuses.
CRD_FOLDERS = {"v0.9.0": "v0.9.0-legacy", "v0.10.3": "v0.10.3"}
PLURALS = {"QueryFrontend": "queryfrontends", "Query": "queries", "Router": "routers", "Gateway": "gateways"}


def installed_crds(shared: Path, installed: str) -> dict:
    """The offline runner's live objects: the CRDs a cluster with Whizard `installed` serves."""
    folder = shared / "schemas" / "crds" / "whizard" / CRD_FOLDERS[installed]
    live = {}
    for plural in PLURALS.values():
        crd = yaml.safe_load((folder / f"monitoring.whizard.io_{plural}.yaml").read_text())
        live[("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", f"{plural}.monitoring.whizard.io")] = {
            "spec": crd["spec"]
        }
    return live


@pytest.mark.parametrize("installed,said", [("v0.9.0", "v0.10.3"), ("v0.10.3", "v0.9.0")])
def test_a_version_whose_path_the_installed_crds_lack_is_refused_before_any_patch(run, shared, installed, said):
    evaluation = Evaluation()
    with pytest.raises(Exception) as refused:
        run(build({"whizardVersion": said}), live_objects=installed_crds(shared, installed), evaluation=evaluation)
    message = str(refused.value)
    assert f"whizardVersion '{said}'" in message and "queryfrontends.monitoring.whizard.io" in message, message
    lower = "<" if installed == "v0.9.0" else ">="
    assert f"the installed Whizard is {lower} v0.10" in message, message
    assert patches(evaluation) == {}  # nothing patched: the refusal comes before the patches register


@pytest.mark.parametrize("installed", ["v0.9.0", "v0.10.3"])
def test_the_installed_version_is_patched_without_a_caveat(run, shared, installed):
    evaluation = run(
        build({"whizardVersion": installed, "components": {"gateway": True}}),
        live_objects=installed_crds(shared, installed),
    )
    assert sorted(patches(evaluation)) == ["Gateway", "Query", "QueryFrontend", "Router"]
    assert not [log for log in evaluation.logs if "taken on trust" in log]


def test_offline_the_version_is_taken_on_trust_and_the_preview_says_so(run):
    evaluation = run(build({"whizardVersion": "v0.10.3"}))
    trust = [log for log in evaluation.logs if "taken on trust" in log]
    assert len(trust) == 1 and trust[0].startswith("warning: WhizardTLS 'whizard': whizardVersion 'v0.10.3'"), trust
