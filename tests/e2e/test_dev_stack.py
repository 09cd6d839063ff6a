"""The dev stack through the real engine: preview with the policy pack, up, issuance, idempotence, offline equals
real, a config change previewed as `cluster-tls diff` predicts, destroy.

The harness's cluster already runs cert-manager (a process, see cluster.py), so the stack uses it
(`certManager.install: false`): the chart's Deployments could not run here, and its validating webhook would
refuse every Issuer without a pod to answer. Tests run in file order on one stack.
"""

from __future__ import annotations

import ssl

import pytest
import yaml

from tests.e2e.engine import REPO, Engine, Project, events_of
from tests.e2e.live import (
    assert_preview_as_predicted,
    compare_with_cluster,
    ident,
    predicted_changes,
    rendered_objects,
)
from tests.e2e.secrets import check_against_spec, issued, serve_and_connect

E2E_CONFIG = {
    "cluster-tls:certManager": {"version": "v1.21.1", "prometheus": False, "install": False},
    "cluster-tls:namespaces": {"create": ["apps"], "existing": ["istio-system", "cert-manager"]},
}


@pytest.fixture(scope="module")
def dev(engine: Engine, tmp_path_factory):
    folder = tmp_path_factory.mktemp("dev") / "project"
    with engine.stack_of(REPO / "stacks" / "Pulumi.dev.yaml", "dev", folder, E2E_CONFIG) as made:
        yield made


def _render(project: Project, out) -> None:
    done = project.offline("render", "--stack", project.stack, "--out", str(out))
    assert done.returncode == 0, done.stderr


def test_preview_with_the_policy_pack(dev, policy_pack, cluster):
    project, stack = dev
    policy_events = events_of("policy_event")
    result = stack.preview(policy_packs=[str(policy_pack)], on_event=policy_events)
    checked = project.offline("check", "--stack", project.stack, "--format", "json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert [e.message for e in policy_events.kept] == []  # `check` found nothing either
    assert result.change_summary.get("create", 0) >= 8, result.change_summary


def test_up_converges_in_one_run(dev, cluster):
    project, stack = dev
    result = stack.up(on_output=print)
    assert result.summary.result == "succeeded"
    cluster.check_alive()
    for cert in cluster.kube.list("cert-manager.io/v1", "Certificate", "cert-manager") + cluster.kube.list(
        "cert-manager.io/v1", "Certificate", "istio-system"
    ):
        conditions = {c["type"]: c["status"] for c in cert.get("status", {}).get("conditions", [])}
        assert conditions.get("Ready") == "True", (cert["metadata"]["name"], cert.get("status"))


def test_secrets_are_issued_by_the_real_cert_manager(dev, cluster, tmp_path):
    kube = cluster.kube
    ca_spec = kube.get("cert-manager.io/v1", "Certificate", "dev-ca", "cert-manager")["spec"]
    ca = issued(kube, "cert-manager", ca_spec["secretName"])
    check_against_spec(ca, ca_spec, ca.certificate)  # self-signed: it chains to itself
    leaf_spec = kube.get("cert-manager.io/v1", "Certificate", "dev-web-tls", "istio-system")["spec"]
    leaf = issued(kube, "istio-system", leaf_spec["secretName"])
    check_against_spec(leaf, leaf_spec, ca.certificate)
    assert leaf.ca_crt == ca.tls_crt  # the gateway's Secret carries the CA that signed it
    trust = ca.write(tmp_path / "trust")["tls.crt"]
    host = leaf_spec["dnsNames"][0]
    assert serve_and_connect(leaf, tmp_path, host, trust) == b"OK ping"
    with pytest.raises(ssl.SSLCertVerificationError):  # another name than the certificate's
        serve_and_connect(leaf, tmp_path, "other.example.internal", trust)


def test_a_second_up_changes_nothing(dev):
    _, stack = dev
    result = stack.up()
    changes = result.summary.resource_changes or {}
    assert set(changes) == {"same"}, changes


def test_offline_render_equals_the_cluster(dev, cluster, tmp_path):
    project, stack = dev
    _render(project, tmp_path / "render")
    problems, _ = compare_with_cluster(cluster.kube, tmp_path / "render")
    assert problems == []
    # ...and the stack created nothing the render does not show.
    state = stack.export_stack().deployment["resources"]
    created = sorted(
        ident(r["outputs"])
        for r in state
        if r["type"].startswith("kubernetes:") and r.get("custom") and "kind" in r.get("outputs", {})
    )
    assert created == sorted(ident(o) for o in rendered_objects(tmp_path / "render"))


def test_a_config_change_previews_as_cluster_tls_diff_predicts(dev, tmp_path):
    project, stack = dev
    _render(project, tmp_path / "before")
    gateway = yaml.safe_load(project.stack_file.read_text())["config"]["cluster-tls:istioGateway"]
    project.set_config(
        "cluster-tls:istioGateway", {**gateway, "hosts": [*gateway["hosts"], "api.dev.example.internal"]}
    )
    _render(project, tmp_path / "after")
    assert_preview_as_predicted(stack, predicted_changes(project, tmp_path / "before", tmp_path / "after"))


def test_destroy_removes_what_the_stack_created(dev, cluster):
    _, stack = dev
    stack.destroy()
    kube = cluster.kube
    assert kube.get("cert-manager.io/v1", "ClusterIssuer", "dev-ca") is None
    assert kube.get("cert-manager.io/v1", "Certificate", "dev-web-tls", "istio-system") is None
    assert kube.get("networking.istio.io/v1", "Gateway", "dev-web", "istio-system") is None
    namespace = kube.get("v1", "Namespace", "apps")
    assert namespace is None or namespace["metadata"].get("deletionTimestamp")
    assert kube.get("v1", "Namespace", "istio-system") is not None  # declared existing: not the stack's
