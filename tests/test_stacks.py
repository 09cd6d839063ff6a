"""The per-environment stacks, evaluated through the same loader and program as `pulumi up`."""

from pathlib import Path

import yaml

from cluster_tls.cli import evaluate
from cluster_tls.manifests import render_files
from cluster_tls.stackfile import Project

PROJECT = Project.find(Path(__file__).resolve().parent.parent)


def test_the_three_environments_exist():
    assert {"dev", "staging", "prod"} <= set(PROJECT.stacks())


def test_prod_renders_seed_001_names_and_hubble_values():
    files = render_files(evaluate("prod", PROJECT))
    assert yaml.safe_load(files["manifests/_cluster/clusterissuer.cert-manager.io.selfsigned-cluster-issuer.yaml"]) == {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": "selfsigned-cluster-issuer"},
        "spec": {"selfSigned": {}},
    }
    ca = yaml.safe_load(files["manifests/cert-manager/certificate.cert-manager.io.my-selfsigned-ca.yaml"])
    assert ca["spec"]["secretName"] == "root-secret" and ca["spec"]["isCA"] is True
    assert ca["spec"]["privateKey"] == {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Never"}
    assert yaml.safe_load(files["manifests/_cluster/clusterissuer.cert-manager.io.my-ca-issuer.yaml"])["spec"] == {
        "ca": {"secretName": "root-secret"}
    }
    hubble = yaml.safe_load(files["outputs/hubble.yaml"])
    assert hubble["helm_values"]["hubble"]["tls"]["auto"] == {
        "enabled": True,
        "method": "certmanager",
        "certValidityDuration": 1095,
        "certManagerIssuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "my-ca-issuer"},
    }
    assert hubble["secret_names"] == ["hubble-server-certs", "hubble-relay-client-certs", "hubble-metrics-server-certs"]
    values = yaml.safe_load(files["helm/cert-manager/cert-manager/values.yaml"])
    assert values["dns01RecursiveNameservers"] == "119.29.29.29:53,8.8.8.8:53"


def test_staging_hubble_release_waits_for_the_stack_ca_it_uses():
    evaluation = evaluate("staging", PROJECT)
    release = evaluation.named("hubble-cilium")
    assert evaluation.named("private-ca-ca-issuer").urn in release.explicit_dependencies
    assert release.inputs["values"]["hubble"]["tls"]["auto"]["certManagerIssuerRef"]["name"] == "staging-ca"
    assert release.inputs["values"]["hubble"]["metrics"] == {"enabled": ["dns", "drop", "tcp", "flow"]}


# What the Pulumi CLI's Python host does (pulumi-language-python-exec): a fresh interpreter in the project
# folder, the folder first on sys.path, `runpy.run_path(<project dir>, run_name="__main__")`. Here the engine
# is the mock runtime; everything else is that path, in its own process.
_AS_PULUMI_RUNS_IT = """
import json, runpy, sys
from pathlib import Path
from cluster_tls.manifests import render_files
from cluster_tls.mockrun import run_program
from cluster_tls.stackfile import Project, load_stack_config
root = Path.cwd()
sys.path.insert(0, str(root))
config, secret_keys = load_stack_config(Project.find(root), sys.argv[1])
evaluation = run_program(lambda: runpy.run_path(str(root), run_name="__main__"), stack=sys.argv[1],
                         config=config, secret_keys=secret_keys, offline=True)
print(json.dumps(render_files(evaluation)))
"""


def test_the_pulumi_entry_point_builds_exactly_what_the_offline_cli_renders(tmp_path):
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_CONFIG")}
    cli = Path(sys.executable).with_name("cluster-tls")
    for stack in PROJECT.stacks():
        entry = subprocess.run(
            [sys.executable, "-c", _AS_PULUMI_RUNS_IT, stack], cwd=PROJECT.root, env=env, capture_output=True, text=True
        )
        assert entry.returncode == 0, entry.stderr
        out = tmp_path / stack
        rendered = subprocess.run(
            [cli, "render", "--stack", stack, "--out", str(out)], cwd=PROJECT.root, env=env, capture_output=True
        )
        assert rendered.returncode == 0, rendered.stderr
        files = {str(p.relative_to(out)): p.read_text() for p in out.rglob("*.yaml")}
        assert json.loads(entry.stdout) == files, stack


# Renaming a resource replaces it in production: these lists change only on purpose.
TOPOLOGY = {
    "dev": [
        ("cluster-tls:index:CertManagerInstall", "cert-manager"),
        ("cluster-tls:index:IstioHTTPSGateway", "istio-gateway"),
        ("cluster-tls:index:SelfSignedCAChain", "private-ca"),
        ("kubernetes:cert-manager.io/v1:Certificate", "istio-gateway-certificate"),
        ("kubernetes:cert-manager.io/v1:Certificate", "private-ca-ca-certificate"),
        ("kubernetes:cert-manager.io/v1:ClusterIssuer", "private-ca-ca-issuer"),
        ("kubernetes:cert-manager.io/v1:ClusterIssuer", "private-ca-selfsigned-issuer"),
        ("kubernetes:core/v1:Namespace", "namespace-apps"),
        ("kubernetes:helm.sh/v3:Release", "cert-manager-release"),
        ("kubernetes:networking.istio.io/v1:Gateway", "istio-gateway-gateway"),
        ("kubernetes:networking.istio.io/v1:VirtualService", "istio-gateway-virtualservice"),
    ],
    "staging": [
        ("cluster-tls:index:CertManagerInstall", "cert-manager"),
        ("cluster-tls:index:DnspodWildcard", "dnspod"),
        ("cluster-tls:index:HubbleTLS", "hubble"),
        ("cluster-tls:index:IstioHTTPSGateway", "istio-gateway"),
        ("cluster-tls:index:SelfSignedCAChain", "private-ca"),
        ("kubernetes:cert-manager.io/v1:Certificate", "dnspod-certificate"),
        ("kubernetes:cert-manager.io/v1:Certificate", "private-ca-ca-certificate"),
        ("kubernetes:cert-manager.io/v1:ClusterIssuer", "dnspod-issuer"),
        ("kubernetes:cert-manager.io/v1:ClusterIssuer", "private-ca-ca-issuer"),
        ("kubernetes:cert-manager.io/v1:ClusterIssuer", "private-ca-selfsigned-issuer"),
        ("kubernetes:core/v1:Namespace", "namespace-apps"),
        ("kubernetes:core/v1:Secret", "dnspod-credentials"),
        ("kubernetes:helm.sh/v3:Release", "cert-manager-release"),
        ("kubernetes:helm.sh/v3:Release", "dnspod-webhook"),
        ("kubernetes:helm.sh/v3:Release", "hubble-cilium"),
        ("kubernetes:helm.sh/v3:Release", "istio-gateway-release"),
        ("kubernetes:networking.istio.io/v1:Gateway", "istio-gateway-gateway"),
        ("kubernetes:networking.istio.io/v1:VirtualService", "istio-gateway-virtualservice"),
    ],
    "prod": [
        ("cluster-tls:index:CertManagerInstall", "cert-manager"),
        ("cluster-tls:index:DnspodWildcard", "dnspod"),
        ("cluster-tls:index:HubbleTLS", "hubble"),
        ("cluster-tls:index:IstioHTTPSGateway", "istio-gateway"),
        ("cluster-tls:index:SelfSignedCAChain", "hubble-ca"),
        ("cluster-tls:index:SelfSignedCAChain", "whizard-ca"),
        ("cluster-tls:index:WhizardTLS", "whizard"),
        ("kubernetes:apps/v1:DeploymentPatch", "whizard-apiserver-mount"),
        ("kubernetes:cert-manager.io/v1:Certificate", "dnspod-certificate"),
        ("kubernetes:cert-manager.io/v1:Certificate", "hubble-ca-ca-certificate"),
        ("kubernetes:cert-manager.io/v1:Certificate", "hubble-metrics-scraper-certificate"),
        ("kubernetes:cert-manager.io/v1:Certificate", "whizard-ca-ca-certificate"),
        ("kubernetes:cert-manager.io/v1:Certificate", "whizard-certificate"),
        ("kubernetes:cert-manager.io/v1:Certificate", "whizard-kubesphere-client"),
        ("kubernetes:cert-manager.io/v1:ClusterIssuer", "dnspod-issuer"),
        ("kubernetes:cert-manager.io/v1:ClusterIssuer", "hubble-ca-ca-issuer"),
        ("kubernetes:cert-manager.io/v1:ClusterIssuer", "hubble-ca-selfsigned-issuer"),
        ("kubernetes:cert-manager.io/v1:ClusterIssuer", "whizard-ca-ca-issuer"),
        ("kubernetes:cert-manager.io/v1:ClusterIssuer", "whizard-ca-selfsigned-issuer"),
        ("kubernetes:core/v1:ConfigMapPatch", "whizard-kubesphere-config"),
        ("kubernetes:core/v1:Secret", "dnspod-credentials"),
        ("kubernetes:helm.sh/v3:Release", "cert-manager-release"),
        ("kubernetes:helm.sh/v3:Release", "dnspod-webhook"),
        ("kubernetes:monitoring.whizard.io/v1alpha1:QueryFrontendPatch", "whizard-query-frontend-tls"),
        ("kubernetes:monitoring.whizard.io/v1alpha1:QueryPatch", "whizard-query-tls"),
        ("kubernetes:monitoring.whizard.io/v1alpha1:RouterPatch", "whizard-router-tls"),
        ("kubernetes:networking.istio.io/v1:Gateway", "istio-gateway-gateway"),
        ("kubernetes:networking.istio.io/v1:VirtualService", "istio-gateway-virtualservice"),
    ],
}


def test_each_stacks_type_and_name_list_is_pinned():
    for stack, expected in TOPOLOGY.items():
        registered = sorted((r.type, r.name) for r in evaluate(stack, PROJECT).registrations)
        assert registered == expected, stack


def test_prod_values_start_a_tls_metrics_server_with_client_verification_as_in_seed_001():
    hubble = yaml.safe_load(render_files(evaluate("prod", PROJECT))["outputs/hubble.yaml"])
    metrics = hubble["helm_values"]["hubble"]["metrics"]
    # templates/cilium-configmap.yaml (1.20.0 L1076-1086): a non-empty list starts the server, TLS on it,
    # and mtls adds the client CA file.
    assert metrics["enabled"] and metrics["tls"]["enabled"] is True
    assert metrics["tls"]["server"]["mtls"] == {"enabled": True}
    assert hubble["metrics_server_name"] == "default.hubble-metrics.cilium.io"
    assert hubble["metrics_client_secret"] == {"name": "hubble-metrics-client-certs", "namespace": "monitoring"}
    assert hubble["secret_names"] == [
        "hubble-server-certs",
        "hubble-relay-client-certs",
        "hubble-metrics-server-certs",
    ]


def test_staging_runs_a_relay_that_serves_mutual_tls_to_the_ui():
    release = evaluate("staging", PROJECT).named("hubble-cilium").inputs["values"]["hubble"]
    assert release["relay"]["enabled"] is True
    assert release["relay"]["tls"]["server"]["enabled"] is True and release["relay"]["tls"]["server"]["mtls"] is True
    assert release["ui"] == {"enabled": True}
