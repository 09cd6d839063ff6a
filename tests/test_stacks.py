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


def test_the_pulumi_entry_point_builds_exactly_what_the_offline_cli_renders():
    import runpy

    from cluster_tls.mockrun import run_program
    from cluster_tls.stackfile import load_stack_config

    def entry_point() -> None:
        runpy.run_path(str(PROJECT.root / "__main__.py"), run_name="__main__")

    for stack in PROJECT.stacks():
        config, secret_keys = load_stack_config(PROJECT, stack)
        via_entry_point = run_program(entry_point, stack=stack, config=config, secret_keys=secret_keys)
        assert render_files(via_entry_point) == render_files(evaluate(stack, PROJECT)), stack


# Renaming a resource replaces it in production: these lists change only on purpose.
TOPOLOGY = {
    "dev": [
        ("cluster-tls:index:CertManagerInstall", "cert-manager"),
        ("cluster-tls:index:SelfSignedCAChain", "private-ca"),
        ("kubernetes:cert-manager.io/v1:Certificate", "private-ca-ca-certificate"),
        ("kubernetes:cert-manager.io/v1:ClusterIssuer", "private-ca-ca-issuer"),
        ("kubernetes:cert-manager.io/v1:ClusterIssuer", "private-ca-selfsigned-issuer"),
        ("kubernetes:helm.sh/v3:Release", "cert-manager-release"),
    ],
    "staging": [
        ("cluster-tls:index:CertManagerInstall", "cert-manager"),
        ("cluster-tls:index:HubbleTLS", "hubble"),
        ("cluster-tls:index:SelfSignedCAChain", "private-ca"),
        ("kubernetes:cert-manager.io/v1:Certificate", "private-ca-ca-certificate"),
        ("kubernetes:cert-manager.io/v1:ClusterIssuer", "private-ca-ca-issuer"),
        ("kubernetes:cert-manager.io/v1:ClusterIssuer", "private-ca-selfsigned-issuer"),
        ("kubernetes:helm.sh/v3:Release", "cert-manager-release"),
        ("kubernetes:helm.sh/v3:Release", "hubble-cilium"),
    ],
    "prod": [
        ("cluster-tls:index:CertManagerInstall", "cert-manager"),
        ("cluster-tls:index:HubbleTLS", "hubble"),
        ("cluster-tls:index:SelfSignedCAChain", "hubble-ca"),
        ("kubernetes:cert-manager.io/v1:Certificate", "hubble-ca-ca-certificate"),
        ("kubernetes:cert-manager.io/v1:Certificate", "hubble-metrics-scraper-certificate"),
        ("kubernetes:cert-manager.io/v1:ClusterIssuer", "hubble-ca-ca-issuer"),
        ("kubernetes:cert-manager.io/v1:ClusterIssuer", "hubble-ca-selfsigned-issuer"),
        ("kubernetes:helm.sh/v3:Release", "cert-manager-release"),
    ],
}


def test_each_stacks_type_and_name_list_is_pinned():
    for stack, expected in TOPOLOGY.items():
        registered = sorted((r.type, r.name) for r in evaluate(stack, PROJECT).registrations)
        assert registered == expected, stack
