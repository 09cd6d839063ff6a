"""IstioHTTPSGateway in MUTUAL mode through the real engine: the credential Secret cert-manager writes carries the
client CA (`ca.crt`) Istio's SDS reads for MUTUAL (istio.io "Secure Gateways", key `ca.crt`), a client with a
certificate from that CA gets through, a client without one is refused.

dev, with `tlsMode: MUTUAL`: the serving issuer is the private CA, so it is the client CA too.
"""

from __future__ import annotations

import ssl

import pytest
import yaml

from tests.e2e.engine import REPO, Engine
from tests.e2e.secrets import check_against_spec, issued, serve_and_connect
from tests.e2e.test_dev_stack import E2E_CONFIG

DEV = REPO / "stacks" / "Pulumi.dev.yaml"
CLIENT = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "Certificate",
    "metadata": {"name": "shop-client", "namespace": "apps"},
    "spec": {
        "secretName": "shop-client",
        "commonName": "shop-client",
        "usages": ["digital signature", "key encipherment", "client auth"],
        "privateKey": {"algorithm": "ECDSA", "size": 256},
        "issuerRef": {"name": "dev-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
    },
}


@pytest.fixture(scope="module")
def mutual(engine: Engine, cluster, tmp_path_factory):
    gateway = yaml.safe_load(DEV.read_text())["config"]["cluster-tls:istioGateway"]
    config = {**E2E_CONFIG, "cluster-tls:istioGateway": {**gateway, "tlsMode": "MUTUAL"}}
    folder = tmp_path_factory.mktemp("dev-mutual") / "project"
    with engine.stack_of(DEV, "dev-mutual", folder, config) as (project, stack):
        assert stack.up(on_output=print).summary.result == "succeeded"
        cluster.kube.apply(CLIENT, manager="a-client-team")  # a client's certificate, written by hand
        cluster.kube.wait_for("the client certificate", lambda: issued_or_none(cluster.kube))
        yield project, stack
        cluster.kube.delete("cert-manager.io/v1", "Certificate", "shop-client", "apps")
        stack.destroy()


def issued_or_none(kube):
    cert = kube.get("cert-manager.io/v1", "Certificate", "shop-client", "apps") or {}
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (cert.get("status") or {}).get("conditions", []))


def test_the_gateway_asks_for_client_certificates(mutual, cluster):
    server = cluster.kube.get("networking.istio.io/v1", "Gateway", "dev-web", "istio-system")["spec"]["servers"][0]
    assert server["tls"] == {"mode": "MUTUAL", "credentialName": "dev-web-tls"}


def test_clients_of_the_ca_get_through_others_are_refused(mutual, cluster, tmp_path):
    kube = cluster.kube
    gateway = issued(kube, "istio-system", "dev-web-tls")
    client = issued(kube, "apps", "shop-client")
    check_against_spec(client, CLIENT["spec"], gateway.ca)
    client_ca = tmp_path / "client-ca.crt"
    client_ca.write_bytes(gateway.ca_crt)  # what SDS reads as the MUTUAL client CA
    host = "shop.dev.example.internal"
    assert serve_and_connect(gateway, tmp_path, host, client_ca, client=client, client_ca=client_ca) == b"OK ping"
    with pytest.raises(ssl.SSLError):
        serve_and_connect(gateway, tmp_path, host, client_ca, client_ca=client_ca)
