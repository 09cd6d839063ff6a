"""HubbleTLS: values, objects and refusals on the mock runtime; real mutual TLS on loopback."""

import ssl

import pulumi
import pytest
import yaml

from cluster_tls.components.certmanager.install import CertManagerInstall
from cluster_tls.components.certmanager.specs import IssuerRef
from cluster_tls.components.hubble import SCHEMA_VERSIONS, HubbleTLS, HubbleTLSArgs, chart_certificates
from cluster_tls.components.model import ArgsError
from tests.support.pki import CertManager, IssuanceError
from tests.support.tls_loopback import (
    OneShotServer,
    client_context,
    plaintext_request,
    server_context,
    tls_request,
)

# Seed 001, as stack config (stacks/Pulumi.<stack>.yaml `cluster-tls:hubble`).
SEED_001 = yaml.safe_load(
    """
ciliumVersion: 1.17.6
certValidityDays: 1095
ca:
  scope: cluster
  selfSignedIssuerName: selfsigned-cluster-issuer
  caCertificateName: my-selfsigned-ca
  caSecretName: root-secret
  caIssuerName: my-ca-issuer
  privateKey: {algorithm: ECDSA, size: 256}
relay: {enabled: true}
"""
)
CA_ISSUER = {"name": "my-ca-issuer", "kind": "ClusterIssuer", "group": "cert-manager.io", "type": "ca"}
CA_REF = IssuerRef.model_validate(CA_ISSUER)


def build(args, *, with_cert_manager=False):
    built = {}

    def program():
        opts = None
        if with_cert_manager:
            built["cert_manager"] = CertManagerInstall("cert-manager", {})
            opts = pulumi.ResourceOptions(depends_on=[built["cert_manager"]])
        built["hubble"] = HubbleTLS("hubble", args, opts)

    return program, built


def test_seed_001_renders_the_seeds_names_and_values(run):
    program, built = build(SEED_001)
    evaluation = run(program)
    cert = evaluation.named("hubble-ca-ca-certificate").inputs
    assert cert["metadata"] == {
        "name": "my-selfsigned-ca",
        "namespace": "cert-manager",
        "annotations": {"pulumi.com/waitFor": "condition=Ready"},
    }
    assert cert["spec"]["secretName"] == "root-secret"
    assert cert["spec"]["isCA"] is True
    assert cert["spec"]["privateKey"] == {"algorithm": "ECDSA", "size": 256}
    assert cert["spec"]["issuerRef"] == {
        "name": "selfsigned-cluster-issuer",
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }
    assert evaluation.named("hubble-ca-selfsigned-issuer").inputs["spec"] == {"selfSigned": {}}
    assert evaluation.named("hubble-ca-ca-issuer").inputs["metadata"] == {"name": "my-ca-issuer"}
    outputs = evaluation.outputs[evaluation.named("hubble").urn]
    # helm upgrade ... --set hubble.tls.auto.{enabled,method,certValidityDuration,certManagerIssuerRef.*}
    assert outputs["helm_values"]["hubble"]["tls"] == {
        "enabled": True,
        "auto": {
            "enabled": True,
            "method": "certmanager",
            "certValidityDuration": 1095,
            "certManagerIssuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "my-ca-issuer"},
        },
    }
    assert outputs["server_name_pattern"] == "*.default.hubble-grpc.cilium.io"
    assert outputs["secret_names"] == ["hubble-server-certs", "hubble-relay-client-certs"]
    assert (outputs["ca_secret_name"], outputs["ca_secret_namespace"], outputs["ca_key"]) == (
        "root-secret",
        "cert-manager",
        "ca.crt",
    )
    assert built["hubble"].release is None


def test_topology_is_a_ca_chain_child_and_everything_waits_for_cert_manager(run):
    program, _ = build(SEED_001, with_cert_manager=True)
    evaluation = run(program)
    hubble = evaluation.named("hubble")
    assert hubble.type == "cluster-tls:index:HubbleTLS"
    assert [(r.type, r.name) for r in evaluation.children_of(hubble.urn)] == [
        ("cluster-tls:index:SelfSignedCAChain", "hubble-ca")
    ]
    release = evaluation.named("cert-manager-release").urn
    for name in ("hubble-ca-selfsigned-issuer", "hubble-ca-ca-certificate", "hubble-ca-ca-issuer"):
        assert release in evaluation.named(name).explicit_dependencies, name


def test_owned_release_merges_user_values_under_the_tls_values_and_waits_for_the_ca(run, schemas):
    args = {
        **SEED_001,
        "release": {
            "values": {
                "kubeProxyReplacement": True,
                "hubble": {"tls": {"enabled": False}, "metrics": {"enabled": ["dns", "drop"]}},
            }
        },
    }
    program, built = build(args, with_cert_manager=True)
    evaluation = run(program)
    release = evaluation.named("hubble-cilium")
    assert release.parent == evaluation.named("hubble").urn
    inputs = release.inputs
    assert (inputs["name"], inputs["chart"], inputs["version"], inputs["namespace"]) == (
        "cilium",
        "cilium",
        "1.17.6",
        "kube-system",
    )
    assert inputs["repositoryOpts"] == {"repo": "https://helm.cilium.io/"}
    values = inputs["values"]
    assert values["kubeProxyReplacement"] is True
    assert values["hubble"]["metrics"] == {"enabled": ["dns", "drop"]}
    assert values["hubble"]["tls"]["enabled"] is True
    assert values["cluster"] == {"name": "default"}
    assert evaluation.named("hubble-ca-ca-issuer").urn in release.explicit_dependencies
    assert evaluation.named("cert-manager-release").urn in release.explicit_dependencies
    assert schemas.helm_values_errors("cilium", values, "1.17.18") == []


VARIANTS = {
    "seed": {},
    "relay-server-mtls-and-ui": {
        "relay": {"serverTls": True, "serverMtls": True, "ui": True, "extraDnsNames": ["hubble-relay.example.com"]}
    },
    "metrics-mtls": {
        "metrics": {"enabled": True, "mtls": True, "extraIpAddresses": ["10.0.0.1"]},
        "serverExtraDnsNames": ["hubble.example.com"],
    },
    "dashed-cluster-name": {"clusterName": "prod-eu-1"},
    "metrics-service-monitor": {
        "metrics": {"enabled": True, "scraper": {"namespace": "kube-system"}, "serviceMonitor": True}
    },
}


@pytest.mark.parametrize("schema_version", sorted(SCHEMA_VERSIONS.values()))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_values_validate_against_each_supported_cilium_schema(schema_version, variant, schemas):
    args = HubbleTLSArgs.model_validate({**SEED_001, "ciliumVersion": schema_version, **VARIANTS[variant]})
    assert args.schema_version == schema_version
    values = args.helm_values(CA_REF)
    assert schemas.helm_values_errors("cilium", values, schema_version) == []


def test_private_key_is_refused_because_the_chart_overrides_it():
    with pytest.raises(ArgsError) as raised:
        HubbleTLSArgs.model_validate({**SEED_001, "ciliumVersion": "1.20.0", "privateKey": {"algorithm": "ECDSA"}})
    assert "templates/hubble/tls-certmanager/server-secret.yaml L25-28 and L43-44" in str(raised.value)


def _chart_certificate(name, common_name, usages, dns_names=None, ip_addresses=None, validity_days=1095):
    """A Certificate as templates/hubble/tls-certmanager/<role>.yaml renders it (helm template, 1.17.18-1.20.0)."""
    spec = {
        "issuerRef": {"name": "my-ca-issuer", "kind": "ClusterIssuer", "group": "cert-manager.io"},
        "secretName": name,
        "commonName": common_name,
        "dnsNames": [common_name, *(dns_names or [])],
    }
    if ip_addresses:
        spec["ipAddresses"] = ip_addresses
    spec |= {
        "duration": f"{validity_days * 24}h0m0s",  # server-secret.yaml L42: printf "%dh0m0s" (mul days 24)
        "privateKey": {"rotationPolicy": "Always"},  # L43-44
        "isCA": False,  # L45
        "usages": usages,  # L46-50
    }
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": name, "namespace": "kube-system"},
        "spec": spec,
    }


SIGN_KEY = ["signing", "key encipherment"]


@pytest.mark.parametrize("cilium_version", sorted(SCHEMA_VERSIONS.values()))
def test_chart_certificates_equal_what_each_supported_chart_renders(cilium_version, schemas):
    # Compared with `helm template` of cilium-<version>.tgz for these values: identical documents.
    args = HubbleTLSArgs.model_validate(
        {
            **SEED_001,
            "ciliumVersion": cilium_version,
            "clusterName": "prod-eu-1",
            "serverExtraDnsNames": ["hubble.example.com"],
            "relay": {"serverTls": True, "serverMtls": True, "ui": True, "extraIpAddresses": ["10.0.0.9"]},
            "metrics": {"enabled": True, "extraIpAddresses": ["10.0.0.1"]},
        }
    )
    assert chart_certificates(args, CA_REF) == [
        # server-secret.yaml L1-2: `*.<cluster.name, dots as dashes>.hubble-grpc.cilium.io`; L46-50 usages
        _chart_certificate(
            "hubble-server-certs",
            "*.prod-eu-1.hubble-grpc.cilium.io",
            [*SIGN_KEY, "server auth", "client auth"],
            ["hubble.example.com"],
        ),
        # relay-client-secret.yaml L1 (relay.enabled), L35-38 usages
        _chart_certificate("hubble-relay-client-certs", "*.hubble-relay.cilium.io", [*SIGN_KEY, "client auth"]),
        # relay-server-secret.yaml L1 (relay.tls.server.enabled), L44-47 usages
        _chart_certificate(
            "hubble-relay-server-certs",
            "*.hubble-relay.cilium.io",
            [*SIGN_KEY, "server auth"],
            ip_addresses=["10.0.0.9"],
        ),
        # ui-client-certs.yaml L1 (ui.enabled, relay.enabled, relay.tls.server.enabled), L35-38
        _chart_certificate("hubble-ui-client-certs", "*.hubble-ui.cilium.io", [*SIGN_KEY, "client auth"]),
        # metrics-server-secret.yaml L1-2 (metrics.tls.enabled), L46-49 usages
        _chart_certificate(
            "hubble-metrics-server-certs",
            "prod-eu-1.hubble-metrics.cilium.io",
            [*SIGN_KEY, "server auth"],
            ip_addresses=["10.0.0.1"],
        ),
    ]
    for certificate in chart_certificates(args, CA_REF):
        assert schemas.crd_errors(certificate) == [], certificate["metadata"]["name"]


@pytest.mark.parametrize(
    "relay,expected",
    [
        ({}, ["hubble-server-certs"]),  # relay left as in the release: chart default off
        ({"enabled": True}, ["hubble-server-certs", "hubble-relay-client-certs"]),
        ({"serverTls": True}, ["hubble-server-certs", "hubble-relay-client-certs", "hubble-relay-server-certs"]),
        # ui-client-certs.yaml L1 needs ui.enabled: without `ui` there is no UI client certificate
        (
            {"serverTls": True, "ui": False},
            ["hubble-server-certs", "hubble-relay-client-certs", "hubble-relay-server-certs"],
        ),
        (
            {"serverTls": True, "ui": True},
            ["hubble-server-certs", "hubble-relay-client-certs", "hubble-relay-server-certs", "hubble-ui-client-certs"],
        ),
        ({"ui": True}, ["hubble-server-certs", "hubble-relay-client-certs"]),  # ui without relay TLS: no UI cert
    ],
)
def test_which_certificates_the_chart_creates_follows_each_templates_condition(relay, expected):
    args = HubbleTLSArgs.model_validate({**SEED_001, "relay": relay})
    assert [c["metadata"]["name"] for c in chart_certificates(args, CA_REF)] == expected


def test_values_only_mode_sets_only_what_tls_needs_and_says_which_keys(run):
    program, _ = build({**SEED_001, "relay": {}})
    evaluation = run(program)
    outputs = evaluation.outputs[evaluation.named("hubble").urn]
    assert "relay" not in outputs["helm_values"]["hubble"] and "ui" not in outputs["helm_values"]["hubble"]
    assert outputs["values_keys"] == [
        "hubble.enabled",
        "hubble.tls.auto.certManagerIssuerRef",
        "hubble.tls.auto.certValidityDuration",
        "hubble.tls.auto.enabled",
        "hubble.tls.auto.method",
        "hubble.tls.enabled",
    ]
    assert outputs["cluster_name"] == "default" and "cluster" not in outputs["helm_values"]
    assert outputs["phase"] == "values"


@pytest.mark.parametrize(
    "relay,expected",
    [
        ({"serverTls": True}, {"enabled": True, "tls": {"server": {"enabled": True, "mtls": False}}}),
        (
            {"serverTls": True, "serverMtls": True},
            {"enabled": True, "tls": {"server": {"enabled": True, "mtls": True}}},
        ),
    ],
)
def test_relay_mtls_is_what_the_user_asked_for(relay, expected):
    values = HubbleTLSArgs.model_validate({**SEED_001, "relay": relay}).helm_values(CA_REF)["hubble"]["relay"]
    values["tls"]["server"] = {k: v for k, v in values["tls"]["server"].items() if k in ("enabled", "mtls")}
    assert values == expected


@pytest.mark.parametrize("mtls", [True, False])
def test_metrics_values_start_a_tls_server_with_the_requested_client_verification(mtls):
    args = HubbleTLSArgs.model_validate({**SEED_001, "metrics": {"enabled": True, "mtls": mtls}})
    metrics = args.helm_values(CA_REF)["hubble"]["metrics"]
    # cilium-configmap.yaml 1.20.0 L1076-1086: the server, its TLS and client CA exist only with this list
    assert metrics["enabled"] == ["dns:query;ignoreAAAA", "drop", "tcp", "flow", "icmp", "http"]
    assert metrics["tls"]["enabled"] is True
    assert metrics["tls"]["server"]["mtls"] == {"enabled": mtls}


def test_a_service_monitor_scrapes_with_the_scrapers_certificate_and_the_ca(schemas):
    args = HubbleTLSArgs.model_validate({**SEED_001, **VARIANTS["metrics-service-monitor"]})
    monitor = args.helm_values(CA_REF)["hubble"]["metrics"]["serviceMonitor"]
    secret = "hubble-metrics-client-certs"
    assert monitor == {
        "enabled": True,
        "tlsConfig": {
            "ca": {"secret": {"name": secret, "key": "ca.crt"}},
            "cert": {"secret": {"name": secret, "key": "tls.crt"}},
            "keySecret": {"name": secret, "key": "tls.key"},
        },
    }


def test_an_existing_ca_issuer_is_used_as_is_and_the_ca_is_read_from_the_server_secret(run):
    program, built = build({"ciliumVersion": "1.18.3", "issuer": CA_ISSUER})
    evaluation = run(program)
    assert [r.name for r in evaluation.registrations] == ["hubble"]
    outputs = evaluation.outputs[evaluation.named("hubble").urn]
    assert outputs["issuer"] == {"name": "my-ca-issuer", "kind": "ClusterIssuer", "group": "cert-manager.io"}
    assert (outputs["ca_secret_name"], outputs["ca_secret_namespace"]) == ("hubble-server-certs", "kube-system")


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"issuer": {**CA_ISSUER, "name": "selfsigned-cluster-issuer", "type": "selfSigned"}, "ca": None},
            "is selfSigned: every Hubble certificate would get its own root",
        ),
        (
            {"issuer": {**CA_ISSUER, "name": "letsencrypt", "type": "acme"}, "ca": None},
            "is ACME: it cannot issue *.default.hubble-grpc.cilium.io",
        ),
        (
            {"issuer": {"name": "ca", "kind": "Issuer", "namespace": "cert-manager", "type": "ca"}, "ca": None},
            "use a ClusterIssuer or an Issuer in 'kube-system'",
        ),
        ({"issuer": CA_ISSUER}, "set one of issuer (an existing CA issuer), issuerFrom (a stack's) or ca (build one)"),
        ({"ca": {"namespace": "monitoring"}}, "a namespaced CA issuer must be in Cilium's namespace 'kube-system'"),
        ({"privateKey": {"algorithm": "ECDSA"}}, "privateKey cannot be delivered"),
        ({"ciliumVersion": "1.16.5"}, "Cilium 1.16 is not supported"),
        ({"ciliumVersion": "latest"}, "pinned chart version"),
        ({"clusterName": "Prod_Cluster"}, "must be a Cilium cluster.name"),
        ({"clusterName": "prod.eu-1"}, "no dots (the chart's templates/validate.yaml refuses anything else)"),
        ({"clusterName": "a" * 33}, "at most 32"),
        ({"metrics": {"enabled": True, "metrics": []}}, "metrics TLS with an empty metrics list does nothing"),
        ({"metrics": {"enabled": True, "metrics": ["dns", "nope"]}}, "unknown Hubble metric 'nope'"),
        ({"metrics": {"enabled": True, "metrics": ["dns", "dns"]}}, "metrics lists ['dns'] twice"),
        ({"metrics": {"enabled": True, "serviceMonitor": True}}, "serviceMonitor needs scraper"),
        (
            {"metrics": {"enabled": True, "serviceMonitor": True, "scraper": {"namespace": "monitoring"}}},
            "the ServiceMonitor lives in 'kube-system'",
        ),
        ({"release": {"values": {"namespaceOverride": "cilium"}}}, "namespaceOverride 'cilium'"),
        (
            {"metrics": {"enabled": True}, "release": {"values": {"tls": {"caBundle": {"enabled": True}}}}},
            "tls.caBundle.enabled: with it the chart verifies metrics clients against the CA bundle",
        ),
        (
            {
                "metrics": {"enabled": True},
                "release": {"values": {"hubble": {"metrics": {"tls": {"server": {"existingSecret": "mine"}}}}}},
            },
            "existingSecret: the agent would serve that Secret",
        ),
        (
            {"metrics": {"enabled": True}, "release": {"values": {"hubble": {"metrics": {"enabled": ["dns"]}}}}},
            "with metrics TLS the list is metrics.metrics",
        ),
        ({"release": {"values": {"cluster": {"id": 3}}}}, "cluster.id is not 0 with cluster.name 'default'"),
        ({"certValidityDays": 0}, "greater than or equal to 1"),
        ({"relay": {"serverMtls": True}}, "serverMtls needs serverTls: true"),
        ({"relay": {"enabled": False, "ui": True}}, "serverTls and ui need the relay"),
        ({"release": {"values": {"cluster": {"name": "other"}}}}, "differs from clusterName 'default'"),
        ({"metrics": {"enabled": True, "mtlsName": "hubble-metrics-ca"}}, "mtlsName: unknown key"),
    ],
)
def test_hubble_refuses_what_cannot_work(overrides, message):
    with pytest.raises(ArgsError) as raised:
        HubbleTLSArgs.model_validate({**SEED_001, **overrides})
    assert message in str(raised.value)


# --- Real mutual TLS with certificates issued exactly from these specs ------------------------------


def _issue_seed_pki(run, variant=None):
    """Evaluate the seed config, then let the in-memory cert-manager issue every chain and chart certificate."""
    program, built = build({**SEED_001, **(variant or {})})
    evaluation = run(program)
    manager = CertManager()
    for name in ("hubble-ca-selfsigned-issuer", "hubble-ca-ca-certificate", "hubble-ca-ca-issuer"):
        manager.apply(evaluation.named(name).inputs)
    secrets = {c["metadata"]["name"]: manager.apply(c) for c in built["hubble"].certificates}
    return secrets, manager


def hubble_peer(server):
    """A Hubble peer on loopback serving `hubble-server-certs`, requiring client certificates from its CA."""
    return OneShotServer(server_context(server["tls.crt"], server["tls.key"], client_ca=server["ca.crt"]))


def relay_to_peer(secrets, folder, server_name):
    """Hubble Relay (hubble-relay-client-certs) calls a peer serving hubble-server-certs as `server_name`."""
    server = secrets["hubble-server-certs"].write(folder / "hubble-server-certs")
    relay = secrets["hubble-relay-client-certs"].write(folder / "hubble-relay-client-certs")
    with hubble_peer(server) as peer:
        answer = tls_request(
            peer.port, client_context(relay["ca.crt"], relay["tls.crt"], relay["tls.key"]), server_name
        )
    return answer, peer


def test_relay_client_reaches_a_hubble_peer_by_its_node_server_name_with_mutual_tls(run, tmp_path):
    secrets, manager = _issue_seed_pki(run)
    assert secrets["hubble-server-certs"].ca_crt == manager.secrets[("cert-manager", "root-secret")].tls_crt
    answer, peer = relay_to_peer(secrets, tmp_path, "k8s-ctr.default.hubble-grpc.cilium.io")
    assert answer == b"OK ping"
    assert peer.result.error is None
    assert peer.result.peer_subject == "*.hubble-relay.cilium.io"


def test_a_client_without_its_certificate_is_refused_with_certificate_required(run, tmp_path):
    secrets, _ = _issue_seed_pki(run)
    server = secrets["hubble-server-certs"].write(tmp_path / "server")
    with hubble_peer(server) as peer:
        with pytest.raises(ssl.SSLError, match="CERTIFICATE_REQUIRED"):
            tls_request(peer.port, client_context(server["ca.crt"]), "k8s-ctr.default.hubble-grpc.cilium.io")
    assert peer.result.error is not None and peer.result.peer_subject is None  # it never served the request


def test_a_plain_text_client_is_refused(run, tmp_path):
    secrets, _ = _issue_seed_pki(run)
    server = secrets["hubble-server-certs"].write(tmp_path / "server")
    with hubble_peer(server) as peer:
        answer = plaintext_request(peer.port)
    assert b"OK" not in answer
    assert peer.result.error is not None and peer.result.peer_subject is None


def test_the_server_name_of_another_cluster_does_not_match(run, tmp_path):
    secrets, _ = _issue_seed_pki(run)
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        relay_to_peer(secrets, tmp_path, "k8s-ctr.other.hubble-grpc.cilium.io")


def test_seed_001_failure_leaves_from_a_selfsigned_issuer_do_not_verify_each_other(tmp_path):
    """Why the chain exists: two leaves from a selfSigned ClusterIssuer share no root."""
    manager = CertManager()
    manager.apply(
        {"kind": "ClusterIssuer", "metadata": {"name": "selfsigned-cluster-issuer"}, "spec": {"selfSigned": {}}}
    )
    args = HubbleTLSArgs.model_validate({"ciliumVersion": "1.17.6", "issuer": CA_ISSUER, "relay": {"enabled": True}})
    leaves = {}
    for certificate in chart_certificates(args, args.issuer):
        certificate["spec"]["issuerRef"]["name"] = "selfsigned-cluster-issuer"
        leaves[certificate["metadata"]["name"]] = manager.apply(certificate)
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        relay_to_peer(leaves, tmp_path, "k8s-ctr.default.hubble-grpc.cilium.io")


def test_the_ca_issuer_needs_its_secret_first():
    manager = CertManager()
    manager.apply({"kind": "ClusterIssuer", "metadata": {"name": "my-ca-issuer"}, "spec": {"ca": {"secretName": "x"}}})
    args = HubbleTLSArgs.model_validate({"ciliumVersion": "1.17.6", "issuer": CA_ISSUER})
    with pytest.raises(IssuanceError, match='secret "x" not found'):
        manager.apply(chart_certificates(args, args.issuer)[0])


METRICS_WITH_SCRAPER = {"metrics": {"enabled": True, "mtls": True, "scraper": {"namespace": "monitoring"}}}


def test_metrics_scraper_gets_a_client_certificate_from_the_hubble_ca(run, schemas):
    program, built = build({**SEED_001, **METRICS_WITH_SCRAPER}, with_cert_manager=True)
    evaluation = run(program)
    scraper = evaluation.named("hubble-metrics-scraper-certificate")
    assert scraper.parent == evaluation.named("hubble").urn
    assert scraper.inputs["metadata"] == {
        "name": "hubble-metrics-client-certs",
        "namespace": "monitoring",
        "annotations": {"pulumi.com/waitFor": "condition=Ready"},
    }
    assert scraper.inputs["spec"] == {
        "secretName": "hubble-metrics-client-certs",
        "issuerRef": {"name": "my-ca-issuer", "kind": "ClusterIssuer", "group": "cert-manager.io"},
        "commonName": "hubble-metrics-scraper",
        "duration": "26280h",
        "usages": ["digital signature", "key encipherment", "client auth"],
    }
    assert schemas.crd_errors(scraper.inputs) == []
    assert evaluation.named("hubble-ca-ca-issuer").urn in scraper.explicit_dependencies
    assert evaluation.named("cert-manager-release").urn in scraper.explicit_dependencies
    outputs = evaluation.outputs[evaluation.named("hubble").urn]
    assert outputs["metrics_server_name"] == "default.hubble-metrics.cilium.io"
    assert outputs["metrics_client_secret"] == {"name": "hubble-metrics-client-certs", "namespace": "monitoring"}


def test_a_scraper_with_its_certificate_reads_metrics_over_mtls_and_one_without_is_refused(run, tmp_path):
    program, built = build({**SEED_001, **METRICS_WITH_SCRAPER})
    evaluation = run(program)
    manager = CertManager()
    for name in ("hubble-ca-selfsigned-issuer", "hubble-ca-ca-certificate", "hubble-ca-ca-issuer"):
        manager.apply(evaluation.named(name).inputs)
    chart = {c["metadata"]["name"]: manager.apply(c) for c in built["hubble"].certificates}
    metrics = chart["hubble-metrics-server-certs"].write(tmp_path / "metrics-server")
    scraper = manager.apply(evaluation.named("hubble-metrics-scraper-certificate").inputs).write(tmp_path / "scraper")
    # mtls.name unset: the chart verifies clients against the CA of hubble-metrics-server-certs.
    context = server_context(metrics["tls.crt"], metrics["tls.key"], client_ca=metrics["ca.crt"])
    with OneShotServer(context) as server:
        answer = tls_request(
            server.port,
            client_context(scraper["ca.crt"], scraper["tls.crt"], scraper["tls.key"]),
            "default.hubble-metrics.cilium.io",
        )
    assert answer == b"OK ping" and server.result.peer_subject == "hubble-metrics-scraper"
    with OneShotServer(server_context(metrics["tls.crt"], metrics["tls.key"], client_ca=metrics["ca.crt"])) as server:
        with pytest.raises(ssl.SSLError, match="CERTIFICATE_REQUIRED"):
            tls_request(server.port, client_context(scraper["ca.crt"]), "default.hubble-metrics.cilium.io")


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"metrics": {"scraper": {}}}, "scraper needs metrics TLS: set enabled: true"),
        (
            {
                "ca": None,
                "issuer": {"name": "ca", "kind": "Issuer", "namespace": "kube-system", "type": "ca"},
                **METRICS_WITH_SCRAPER,
            },
            "only signs in its own namespace; use a ClusterIssuer",
        ),
        ({"ca": {"namespace": "kube-system"}, **METRICS_WITH_SCRAPER}, "a namespaced CA only signs in 'kube-system'"),
    ],
)
def test_scraper_certificate_refusals(overrides, message):
    with pytest.raises(ArgsError) as raised:
        HubbleTLSArgs.model_validate({**SEED_001, **overrides})
    assert message in str(raised.value)


def test_a_relay_client_certificate_presented_as_a_server_is_refused(run, tmp_path):
    # The chart's relay client certificate has only `client auth` (relay-client-secret.yaml L35-38): a peer
    # serving it is refused by a client that checks the server's extended key usage, as Go's crypto/tls does.
    secrets, _ = _issue_seed_pki(run)
    impostor = secrets["hubble-relay-client-certs"].write(tmp_path / "impostor")
    relay = secrets["hubble-relay-client-certs"].write(tmp_path / "relay")
    with OneShotServer(server_context(impostor["tls.crt"], impostor["tls.key"], client_ca=impostor["ca.crt"])) as peer:
        with pytest.raises(ssl.SSLCertVerificationError, match="unsuitable certificate purpose"):
            tls_request(
                peer.port,
                client_context(relay["ca.crt"], relay["tls.crt"], relay["tls.key"]),
                "x.hubble-relay.cilium.io",
            )


def test_the_values_depend_on_the_ca_issuer_so_a_consumer_waits_for_it(run):
    import pulumi_kubernetes as k8s

    def program():
        hubble = HubbleTLS("hubble", SEED_001)
        k8s.helm.v3.Release("my-cilium", chart="cilium", name="cilium", values=hubble.helm_values)

    evaluation = run(program)
    consumer = evaluation.named("my-cilium")
    assert evaluation.named("hubble-ca-ca-issuer").urn in consumer.dependencies


def test_bootstrap_phase_installs_cilium_without_tls_and_without_waiting_for_cert_manager(run, schemas):
    program, _ = build({**SEED_001, "release": {"phase": "bootstrap"}}, with_cert_manager=True)
    evaluation = run(program)
    release = evaluation.named("hubble-cilium")
    assert release.inputs["values"]["hubble"]["tls"] == {"enabled": False}
    assert release.explicit_dependencies == set()
    assert schemas.helm_values_errors("cilium", release.inputs["values"], "1.17.18") == []
    outputs = evaluation.outputs[evaluation.named("hubble").urn]
    assert outputs["phase"] == "bootstrap" and outputs["secret_names"] == []
    assert not [log for log in evaluation.logs if "cannot converge" in log]


def test_an_owned_release_that_waits_for_cert_manager_warns_about_fresh_clusters(run):
    program, _ = build({**SEED_001, "release": {}}, with_cert_manager=True)
    evaluation = run(program)
    assert any("cannot converge" in log and "phase: bootstrap" in log for log in evaluation.logs)
    assert evaluation.named("cert-manager-release").urn in evaluation.named("hubble-cilium").explicit_dependencies
