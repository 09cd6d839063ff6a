"""IstioHTTPSGateway: istio, gatewayApi and legacyMount modes, refusals, the seed, and real (m)TLS on loopback."""

from __future__ import annotations

import shutil
import ssl
from pathlib import Path

import pytest
import yaml

from cluster_tls.cli import evaluate
from cluster_tls.components.istio_gateway import IstioHTTPSGateway, IstioHTTPSGatewayArgs
from cluster_tls.components.model import ArgsError
from cluster_tls.components.selfsigned_ca import SelfSignedCAChain
from cluster_tls.manifests import dump_yaml, kubernetes_objects, render_files
from cluster_tls.stackfile import Project
from tests.support.pki import CertManager
from tests.support.tls_loopback import OneShotServer, client_context, server_context, tls_request

REPO = Path(__file__).resolve().parent.parent
CA = {"name": "platform-ca", "kind": "ClusterIssuer", "type": "ca"}
BASE = {
    "name": "web",
    "hosts": ["httpbin.example.com"],
    "backend": {"service": "httpbin", "port": 8000, "namespace": "apps"},
    "issuer": CA,
}


def build(args, *, with_ca=True):
    def program():
        if with_ca:
            SelfSignedCAChain("platform-ca", {"scope": "cluster"})
        IstioHTTPSGateway("gw", args)

    return program


def validate_all(evaluation, schemas):
    for obj in kubernetes_objects(evaluation):
        assert schemas.object_errors(yaml.safe_load(dump_yaml(obj.body))) == [], obj.path


def test_istio_mode_serves_the_secret_from_the_workload_namespace(run, schemas):
    evaluation = run(build(BASE))
    certificate = evaluation.named("gw-certificate").inputs
    assert certificate["metadata"]["namespace"] == "istio-system"
    assert certificate["spec"]["dnsNames"] == ["httpbin.example.com"] and certificate["spec"]["secretName"] == "web-tls"
    gateway = evaluation.named("gw-gateway").inputs
    assert gateway["apiVersion"] == "networking.istio.io/v1"
    assert gateway["metadata"] == {"name": "web", "namespace": "istio-system"}
    assert gateway["spec"] == {
        "selector": {"istio": "ingressgateway"},
        "servers": [
            {
                "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                "tls": {"mode": "SIMPLE", "credentialName": "web-tls"},
                "hosts": ["httpbin.example.com"],
            },
            {
                "port": {"number": 80, "name": "http", "protocol": "HTTP"},
                "tls": {"httpsRedirect": True},
                "hosts": ["httpbin.example.com"],
            },
        ],
    }
    service = evaluation.named("gw-virtualservice").inputs["spec"]
    assert service["gateways"] == ["istio-system/web"] and service["hosts"] == ["httpbin.example.com"]
    assert service["http"][0]["route"][0]["destination"] == {
        "host": "httpbin.apps.svc.cluster.local",
        "port": {"number": 8000},
    }
    assert evaluation.named("gw-certificate").urn in evaluation.named("gw-gateway").explicit_dependencies
    validate_all(evaluation, schemas)


def test_old_istio_gets_v1beta1_and_the_selector_follows_the_release_name(run):
    evaluation = run(build({**BASE, "istioVersion": "1.20.4", "release": {"name": "istio-ingress"}}))
    gateway = evaluation.named("gw-gateway").inputs
    assert gateway["apiVersion"] == "networking.istio.io/v1beta1"
    assert gateway["spec"]["selector"] == {"istio": "ingress"}


def test_gateway_api_mode_listens_per_host_with_a_reference_grant_for_the_backend(run, schemas):
    args = {**BASE, "mode": "gatewayApi", "workloadNamespace": "edge", "hosts": ["a.example.com", "b.example.com"]}
    evaluation = run(build(args))
    gateway = evaluation.named("gw-gateway").inputs
    assert gateway["apiVersion"] == "gateway.networking.k8s.io/v1"
    https = [listener for listener in gateway["spec"]["listeners"] if listener["protocol"] == "HTTPS"]
    assert [lst["tls"]["certificateRefs"] for lst in https] == [[{"kind": "Secret", "name": "web-tls"}]] * 2
    assert evaluation.named("gw-certificate").inputs["metadata"]["namespace"] == "edge"
    grant = evaluation.named("gw-grant-apps").inputs
    assert grant["metadata"]["namespace"] == "apps"
    assert grant["spec"]["from"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "edge"}]
    route = evaluation.named("gw-route-web-0").inputs["spec"]
    assert route["rules"][0]["backendRefs"] == [{"name": "httpbin", "port": 8000, "namespace": "apps"}]
    validate_all(evaluation, schemas)


def test_cert_manager_gateway_support_annotates_the_gateway_and_issues_nothing_itself(run):
    from cluster_tls.components.context import CertManagerRef, ClusterContext

    args = {**BASE, "mode": "gatewayApi", "certManagerGatewaySupport": True}
    context = ClusterContext(cert_manager=CertManagerRef(gateway_api=True))

    def program():
        IstioHTTPSGateway("gw", args, context=context)

    evaluation = run(program)
    assert evaluation.named("gw-gateway").inputs["metadata"]["annotations"] == {
        "cert-manager.io/cluster-issuer": "platform-ca"
    }
    assert not [r for r in evaluation.registrations if r.name == "gw-certificate"]
    from cluster_tls.components.plan import PlanError

    with pytest.raises(PlanError, match="cert-manager's Gateway API support is off"):
        run(lambda: IstioHTTPSGateway("gw", args))


def test_the_stack_switches_cert_manager_gateway_support_on_when_asked(run):
    from cluster_tls.mockrun import run_program
    from cluster_tls.stackfile import config_from_entries
    from cluster_tls.stacks.program import main

    entries = {
        "cluster-tls:namespaces": {"existing": ["istio-system", "apps"]},
        "cluster-tls:istioGateway": {**BASE, "mode": "gatewayApi", "certManagerGatewaySupport": True},
    }
    config, _ = config_from_entries(entries, "cluster-tls")
    values = run_program(main, config=config).named("cert-manager-release").inputs["values"]
    assert values["config"]["gatewayAPI"] == {"enabled": True}


def test_mutual_tls_with_a_ca_issuer_uses_the_ca_in_the_secret(run, schemas):
    evaluation = run(build({**BASE, "tlsMode": "MUTUAL"}))
    tls = evaluation.named("gw-gateway").inputs["spec"]["servers"][0]["tls"]
    assert tls == {"mode": "MUTUAL", "credentialName": "web-tls"}
    assert not [r for r in evaluation.registrations if r.name == "gw-client-ca"]


def test_mutual_tls_with_an_acme_certificate_brings_the_client_ca_as_cacert(run, schemas):
    acme = {"name": "letsencrypt", "kind": "ClusterIssuer", "type": "acme", "acmeChallenges": ["dns01"]}
    evaluation = run(build({**BASE, "issuer": acme, "tlsMode": "MUTUAL", "clientCaIssuer": CA}))
    carrier = evaluation.named("gw-client-ca").inputs
    assert carrier["metadata"] == {
        "name": "web-tls-cacert",
        "namespace": "istio-system",
        "annotations": {"pulumi.com/waitFor": "condition=Ready"},
    }
    assert carrier["spec"]["issuerRef"]["name"] == "platform-ca"
    tls = evaluation.named("gw-gateway").inputs["spec"]["servers"][0]["tls"]
    assert tls == {"mode": "MUTUAL", "credentialName": "web-tls", "caCertCredentialName": "web-tls-cacert"}
    validate_all(evaluation, schemas)


@pytest.mark.parametrize(
    "overrides,message",
    [
        (
            {"hosts": ["other.org"], "existingSecret": {"name": "wild", "dnsNames": ["*.example.com"]}, "issuer": None},
            "host 'other.org' is not covered",
        ),
        (
            {
                "hosts": ["a.b.example.com"],
                "existingSecret": {"name": "wild", "dnsNames": ["*.example.com"]},
                "issuer": None,
            },
            "a wildcard covers one label",
        ),
        (
            {"issuer": {"name": "le", "kind": "ClusterIssuer", "type": "acme"}, "tlsMode": "MUTUAL"},
            "MUTUAL needs a client CA",
        ),
        (
            {"issuer": {"name": "le", "kind": "ClusterIssuer", "type": "acme", "acmeChallenges": ["http01"]}},
            "would break the challenge",
        ),
        ({"existingSecret": {"name": "x", "dnsNames": ["httpbin.example.com"]}}, "set exactly one of issuer"),
        ({"mode": "gatewayApi", "gatewayNamespace": "other"}, "the workload runs in the Gateway's namespace"),
        ({"release": {"exposure": {"type": "LoadBalancer", "httpNodePort": 32000}}}, "need type: NodePort"),
        ({"mode": "gatewayApi", "release": {"install": True}}, "Istio deploys its own workload"),
        ({"mode": "legacyMount", "release": {"install": True}}, "mounts no istio-ingressgateway-certs"),
        (
            {"issuer": {"name": "ca", "kind": "Issuer", "namespace": "apps", "type": "ca"}},
            "is an Issuer outside 'istio-system'",
        ),
    ],
)
def test_refusals(overrides, message):
    with pytest.raises(ArgsError) as raised:
        IstioHTTPSGatewayArgs.model_validate({**BASE, **overrides})
    assert message in str(raised.value)


def test_two_gateways_sharing_a_certificate_on_one_workload_are_refused(run):
    from cluster_tls.components.context import ClusterContext
    from cluster_tls.components.plan import PlanError

    context = ClusterContext()
    wildcard = {"name": "wild", "dnsNames": ["*.example.com"]}

    def program():
        IstioHTTPSGateway(
            "a",
            {**BASE, "name": "a", "hosts": ["a.example.com"], "issuer": None, "existingSecret": wildcard},
            context=context,
        )
        IstioHTTPSGateway(
            "b",
            {**BASE, "name": "b", "hosts": ["b.example.com"], "issuer": None, "existingSecret": wildcard},
            context=context,
        )

    with pytest.raises(PlanError, match="IST0138"):
        run(program)


def test_exposure_values_validate_against_the_gateway_chart(run, schemas):
    args = {**BASE, "release": {"install": True, "exposure": {"type": "NodePort", "httpNodePort": 32000}}}
    evaluation = run(build(args))
    release = evaluation.named("gw-release").inputs
    assert (release["chart"], release["version"], release["namespace"]) == ("gateway", "1.30.3", "istio-system")
    assert release["values"]["service"]["ports"][1] == {
        "name": "http2",
        "port": 80,
        "protocol": "TCP",
        "targetPort": 80,
        "nodePort": 32000,
    }
    assert schemas.helm_values_errors("istio-gateway", release["values"]) == []
    assert schemas.helm_values_errors("istio-gateway", {"service": {"type": 3}}) != []


def test_the_seed_as_stack_config_renders_the_legacy_mount(tmp_path, schemas):
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    shutil.copy(Path(__file__).parent / "seeds" / "Pulumi.seed-004.yaml", tmp_path / "stacks")
    evaluation = evaluate("seed-004", Project.find(tmp_path))
    files = render_files(evaluation)
    gateway = yaml.safe_load(files["manifests/istio-system/gateway.networking.istio.io.mygateway.yaml"])
    assert gateway == {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "Gateway",
        "metadata": {"name": "mygateway", "namespace": "istio-system"},
        "spec": {
            "selector": {"istio": "ingressgateway"},
            "servers": [
                {
                    "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                    "tls": {
                        "mode": "SIMPLE",
                        "serverCertificate": "/etc/istio/ingressgateway-certs/tls.crt",
                        "privateKey": "/etc/istio/ingressgateway-certs/tls.key",
                    },
                    "hosts": ["httpbin.example.com"],
                }
            ],
        },
    }
    certificate = yaml.safe_load(
        files["manifests/istio-system/certificate.cert-manager.io.istio-ingressgateway-certs.yaml"]
    )
    assert certificate["spec"]["secretName"] == "istio-ingressgateway-certs"
    assert any("legacyMount" in log for log in evaluation.logs)
    outputs = yaml.safe_load(files["outputs/istio-gateway.yaml"])
    assert outputs["gateway_values"]["service"]["type"] == "NodePort"
    for obj in kubernetes_objects(evaluation):
        assert schemas.object_errors(yaml.safe_load(dump_yaml(obj.body))) == [], obj.path


def _issue(run, args, tmp_path):
    evaluation = run(build(args))
    manager = CertManager()
    for name in ("platform-ca-selfsigned-issuer", "platform-ca-ca-certificate", "platform-ca-ca-issuer"):
        manager.apply(evaluation.named(name).inputs)
    served = manager.apply(evaluation.named("gw-certificate").inputs).write(tmp_path / "served")
    return manager, served


def test_a_client_sending_the_host_as_sni_and_trusting_the_ca_gets_through(run, tmp_path):
    _, served = _issue(run, BASE, tmp_path)
    with OneShotServer(server_context(served["tls.crt"], served["tls.key"], client_ca=None)) as gateway:
        assert tls_request(gateway.port, client_context(served["ca.crt"]), "httpbin.example.com") == b"OK ping"
    with OneShotServer(server_context(served["tls.crt"], served["tls.key"], client_ca=None)) as gateway:
        with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
            tls_request(gateway.port, client_context(served["ca.crt"]), "other.example.com")


def test_mutual_refuses_a_client_without_a_certificate_and_accepts_one_from_the_client_ca(run, tmp_path):
    manager, served = _issue(run, {**BASE, "tlsMode": "MUTUAL"}, tmp_path)
    client = manager.apply(
        {
            "kind": "Certificate",
            "metadata": {"name": "client", "namespace": "apps"},
            "spec": {
                "secretName": "client",
                "commonName": "a client",
                "usages": ["digital signature", "client auth"],
                "issuerRef": {"name": "platform-ca", "kind": "ClusterIssuer"},
            },
        }
    ).write(tmp_path / "client")
    # Istio MUTUAL verifies clients against ca.crt of the credential (same Secret here: a CA issuer's)
    with OneShotServer(server_context(served["tls.crt"], served["tls.key"], client_ca=served["ca.crt"])) as gateway:
        with pytest.raises(ssl.SSLError, match="CERTIFICATE_REQUIRED"):
            tls_request(gateway.port, client_context(served["ca.crt"]), "httpbin.example.com")
    with OneShotServer(server_context(served["tls.crt"], served["tls.key"], client_ca=served["ca.crt"])) as gateway:
        answer = tls_request(
            gateway.port, client_context(client["ca.crt"], client["tls.crt"], client["tls.key"]), "httpbin.example.com"
        )
    assert answer == b"OK ping" and gateway.result.peer_subject == "a client"
