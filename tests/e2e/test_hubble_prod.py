"""The prod stack's Hubble TLS through the real engine, with the Certificates the real Cilium chart creates.

prod keeps Cilium installed elsewhere (the values are an output to merge), so here the chart from the Cilium 1.17.6
Go module is installed with the stack's own `helm_values` output as a Release through the real provider (waits
off), and the real cert-manager issues the Certificates Helm created from the stack's CA chain. Only
prod's Hubble part runs: its DNSPod wildcard needs Let's Encrypt and DNSPod, and its gateway and Whizard parts need
that wildcard and KubeSphere (seed 000 covers Whizard).
"""

from __future__ import annotations

import ssl

import pytest

from tests.e2e.engine import REPO, Engine, local_chart_release
from tests.e2e.live import compare_with_cluster, differences
from tests.e2e.secrets import check_against_spec, issued, serve_and_connect

E2E_CONFIG = {
    "cluster-tls:certManager": {"version": "v1.21.1", "prometheus": False, "install": False},
    "cluster-tls:namespaces": {"existing": ["monitoring", "cert-manager"]},
}
WITHOUT = ("cluster-tls:dnspod", "cluster-tls:istioGateway", "cluster-tls:whizard")
CHART = "cilium-v1.17.6"


def _ready(kube, namespace: str, name: str) -> bool:
    cert = kube.get("cert-manager.io/v1", "Certificate", name, namespace) or {}
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (cert.get("status") or {}).get("conditions", []))


@pytest.fixture(scope="module")
def prod(engine: Engine, cluster, tmp_path_factory):
    cluster.kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "monitoring"}})
    folder = tmp_path_factory.mktemp("prod") / "project"
    with engine.stack_of(REPO / "stacks" / "Pulumi.prod.yaml", "prod", folder, E2E_CONFIG, WITHOUT) as made:
        yield made


@pytest.fixture(scope="module")
def chart_certificates(prod, cluster, engine, e2e_bin, tmp_path_factory):
    """`pulumi up`, then a Release of the Cilium chart with the stack's values output (waits off: no pod runs here),
    and the Certificates Helm created, once cert-manager has issued them."""
    _, stack = prod
    assert stack.up(on_output=print).summary.result == "succeeded"
    hubble = stack.outputs()["hubble"].value
    program = local_chart_release("cilium", e2e_bin.parent / "charts" / CHART, "kube-system", hubble["helm_values"])
    kube = cluster.kube
    with engine.program_stack("e2e-cilium", tmp_path_factory.mktemp("cilium") / "project", program) as (_, release):
        assert release.up(on_output=print).summary.result == "succeeded"
        certificates = [
            c
            for c in kube.list("cert-manager.io/v1", "Certificate", "kube-system")
            if (c["metadata"].get("annotations") or {}).get("meta.helm.sh/release-name") == "cilium"
        ]
        for cert in certificates:
            name = cert["metadata"]["name"]
            kube.wait_for(f"{name} Ready", lambda n=name: _ready(kube, "kube-system", n))
        yield hubble, certificates
        release.destroy()


def test_the_chart_creates_the_certificates_the_component_says(chart_certificates):
    hubble, certificates = chart_certificates
    by_name = {c["metadata"]["name"]: c for c in certificates}
    claimed = {c["metadata"]["name"]: c for c in hubble["chart_certificates"]}
    assert set(by_name) == set(claimed)
    for name, cert in claimed.items():  # as Helm applied them: the component's specs, nothing more
        assert differences(cert["spec"], by_name[name]["spec"]) == [], name
        assert set(by_name[name]["spec"]) == set(cert["spec"]), name


def test_hubble_peers_speak_mtls_with_the_issued_secrets(chart_certificates, cluster, tmp_path):
    kube = cluster.kube
    server = issued(kube, "kube-system", "hubble-server-certs")
    relay = issued(kube, "kube-system", "hubble-relay-client-certs")
    ca = kube.get("cert-manager.io/v1", "Certificate", "my-selfsigned-ca", "cert-manager")
    root = issued(kube, "cert-manager", ca["spec"]["secretName"])
    for pair, name in ((server, "hubble-server-certs"), (relay, "hubble-relay-client-certs")):
        check_against_spec(
            pair, kube.get("cert-manager.io/v1", "Certificate", name, "kube-system")["spec"], root.certificate
        )
    trust = root.write(tmp_path / "root")["tls.crt"]
    peer = "node-1.default.hubble-grpc.cilium.io"
    assert serve_and_connect(server, tmp_path, peer, trust, client=relay, client_ca=trust) == b"OK ping"
    with pytest.raises(ssl.SSLError):  # a client without a certificate is refused
        serve_and_connect(server, tmp_path, peer, trust, client_ca=trust)


def test_metrics_mtls_with_the_scraper_certificate_the_stack_made(chart_certificates, cluster, tmp_path):
    kube = cluster.kube
    metrics = issued(kube, "kube-system", "hubble-metrics-server-certs")
    scraper_spec = kube.get("cert-manager.io/v1", "Certificate", "hubble-metrics-client-certs", "monitoring")["spec"]
    scraper = issued(kube, "monitoring", scraper_spec["secretName"])
    check_against_spec(scraper, scraper_spec, metrics.ca)
    trust = tmp_path / "ca.crt"
    trust.write_bytes(metrics.ca_crt)
    name = "default.hubble-metrics.cilium.io"
    assert serve_and_connect(metrics, tmp_path, name, trust, client=scraper, client_ca=trust) == b"OK ping"
    with pytest.raises(ssl.SSLError):
        serve_and_connect(metrics, tmp_path, name, trust, client_ca=trust)


def test_offline_render_equals_the_cluster_and_a_second_up_changes_nothing(prod, chart_certificates, cluster, tmp_path):
    project, stack = prod
    done = project.offline("render", "--stack", project.stack, "--out", str(tmp_path / "render"))
    assert done.returncode == 0, done.stderr
    problems, _ = compare_with_cluster(cluster.kube, tmp_path / "render")
    assert problems == []
    changes = stack.up().summary.resource_changes or {}
    assert set(changes) == {"same"}, changes


def test_destroy(prod, chart_certificates, cluster):
    _, stack = prod
    stack.destroy()
    assert cluster.kube.get("cert-manager.io/v1", "ClusterIssuer", "my-ca-issuer") is None
    assert cluster.kube.get("cert-manager.io/v1", "Certificate", "hubble-metrics-client-certs", "monitoring") is None
