"""Seed 004 (Istio 1.0-era gateway with the certificate mounted as `istio-ingressgateway-certs`) through the real
engine: one `up` with every Certificate Ready, the mounted Secret's files serving the host, a second `up` changing
nothing, the cluster equal to `cluster-tls render`, and `destroy`."""

from __future__ import annotations

import pytest

from tests.e2e.engine import REPO, Engine
from tests.e2e.live import compare_with_cluster
from tests.e2e.secrets import check_against_spec, issued, serve_and_connect

E2E_CONFIG = {
    "cluster-tls:certManager": {"install": False},
    "cluster-tls:namespaces": {"existing": ["istio-system", "cert-manager", "default"]},
}


@pytest.fixture(scope="module")
def seed(engine: Engine, cluster, tmp_path_factory):
    folder = tmp_path_factory.mktemp("seed-004") / "project"
    with engine.stack_of(REPO / "tests" / "seeds" / "Pulumi.seed-004.yaml", "seed-004", folder, E2E_CONFIG) as made:
        yield made


def test_up_converges_and_the_mounted_secret_serves_the_host(seed, cluster, tmp_path):
    _, stack = seed
    assert stack.up(on_output=print).summary.result == "succeeded"
    kube = cluster.kube
    certs = kube.list("cert-manager.io/v1", "Certificate", "istio-system")
    leaf = next(c for c in certs if c["spec"]["secretName"] == "istio-ingressgateway-certs")
    pair = issued(kube, "istio-system", "istio-ingressgateway-certs")
    check_against_spec(pair, leaf["spec"], pair.ca)
    trust = tmp_path / "ca.crt"
    trust.write_bytes(pair.ca_crt)
    assert serve_and_connect(pair, tmp_path, "httpbin.example.com", trust) == b"OK ping"


def test_a_second_up_changes_nothing_and_the_cluster_is_the_render(seed, cluster, tmp_path):
    project, stack = seed
    changes = stack.up().summary.resource_changes or {}
    assert set(changes) == {"same"}, changes
    done = project.offline("render", "--stack", project.stack, "--out", str(tmp_path / "render"))
    assert done.returncode == 0, done.stderr
    problems, _ = compare_with_cluster(cluster.kube, tmp_path / "render")
    assert problems == []


def test_destroy(seed, cluster):
    _, stack = seed
    stack.destroy()
    assert cluster.kube.get("networking.istio.io/v1alpha3", "Gateway", "mygateway", "istio-system") is None
