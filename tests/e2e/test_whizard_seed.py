"""Seed 000 (Whizard TLS for KubeSphere) through the real engine: server-side-apply patches of live Whizard
resources, `kubesphere-config` and the `ks-apiserver` Deployment.

The harness makes the cluster the stack expects: Whizard's v0.9.0 CRDs, its QueryFrontend/Query/Router as the
installer leaves them (owned by another field manager), KubeSphere's `kubesphere-config` with a KubeSphere 3.4
`kubesphere.yaml`, and a `ks-apiserver` Deployment. No pod can run here, so the Deployment has 0 replicas: the
real deployment controller rolls the patched template out and the provider's Deployment await sees it complete.
"""

from __future__ import annotations

import copy
import json
import re

import pytest
import yaml
from pulumi import automation as auto

from tests.e2e.engine import REPO, Engine, events_of
from tests.e2e.live import compare_with_cluster
from tests.e2e.secrets import check_against_spec, issued, serve_and_connect

MONITORING, KUBESPHERE = "kubesphere-monitoring-system", "kubesphere-system"
INSTALLER = "ks-installer"  # the field manager of what the cluster already holds
SAMPLES = REPO / "cluster_tls" / "samples"
KUBESPHERE_YAML = (SAMPLES / "kubesphere-config.yaml").read_text()
E2E_CONFIG = {
    "cluster-tls:certManager": {"install": False},
    "cluster-tls:namespaces": {"existing": [MONITORING, KUBESPHERE, "cert-manager"]},
}


def _whizard(kind: str) -> dict:
    return {
        "apiVersion": "monitoring.whizard.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": "whizard", "namespace": MONITORING},
        "spec": {"replicas": 2, "logLevel": "info", "image": f"kubesphere/whizard-{kind.lower()}:v0.9.0"},
    }


def _ks_apiserver() -> dict:
    # The Deployment the offline runner serves (cluster_tls/samples), with no replicas: no pod can run here.
    spec = yaml.safe_load((SAMPLES / "ks-apiserver-deployment.yaml").read_text()) | {"replicas": 0}
    meta = {"name": "ks-apiserver", "namespace": KUBESPHERE, "labels": {"app": "ks-apiserver"}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


def _config_map() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "kubesphere-config", "namespace": KUBESPHERE},
        "data": {"kubesphere.yaml": KUBESPHERE_YAML},
    }


def prepare_kubesphere(cluster, whizard_crds) -> dict:
    """What a KubeSphere cluster holds before the stack patches it (written by another field manager)."""
    kube = cluster.kube
    cluster.install_crds(whizard_crds)
    for ns in (MONITORING, KUBESPHERE):
        kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    return {
        (obj["kind"], obj["metadata"]["name"]): kube.apply(obj, manager=INSTALLER)
        for obj in [_whizard("QueryFrontend"), _whizard("Query"), _whizard("Router"), _config_map(), _ks_apiserver()]
    }


# Seed 000 (Whizard v0.9.0: TLS at spec.httpServerTLSConfig) and prod's Whizard part (v0.10.3:
# spec.webConfig.httpServerTLSConfig), each against its version's CRDs.
CASES = {
    "seed-000": (REPO / "tests" / "seeds" / "Pulumi.seed-000.yaml", "whizard-v0.9.0", (), ()),
    "prod": (
        REPO / "stacks" / "Pulumi.prod.yaml",
        "whizard-v0.10.3",
        ("cluster-tls:dnspod", "cluster-tls:istioGateway", "cluster-tls:hubble"),
        ("webConfig",),
    ),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    return request.param, *CASES[request.param]


def _tls(spec: dict, case) -> dict | None:
    for key in case[4]:
        spec = spec.get(key) or {}
    return spec.get("httpServerTLSConfig")


@pytest.fixture(scope="module")
def kubesphere(cluster, shared_crds, case):
    return prepare_kubesphere(cluster, shared_crds[case[2]])


@pytest.fixture(scope="module")
def seed(engine: Engine, kubesphere, case, tmp_path_factory):
    name, stack_file, _, without, _ = case
    folder = tmp_path_factory.mktemp(name) / "project"
    with engine.stack_of(stack_file, name, folder, E2E_CONFIG, without) as made:
        yield made


def _live(cluster, kind: str, namespace: str, name: str = "whizard") -> dict:
    api = {"Deployment": "apps/v1", "ConfigMap": "v1"}.get(kind, "monitoring.whizard.io/v1alpha1")
    return cluster.kube.get(api, kind, name, namespace)


def test_up_patches_the_live_objects(seed, cluster, case):
    _, stack = seed
    assert stack.up(on_output=print).summary.result == "succeeded"
    for kind in ("QueryFrontend", "Query", "Router"):
        spec = _live(cluster, kind, MONITORING)["spec"]
        tls = _tls(spec, case)  # not pruned: the version's CRDs have the field the patch uses
        assert tls["certSecret"] == {"name": "whizard-tls", "key": "tls.crt"}
        assert (spec["replicas"], spec["logLevel"]) == (2, "info")  # fields the patch does not own stay
    deployment = _live(cluster, "Deployment", KUBESPHERE, "ks-apiserver")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "kubesphere/ks-apiserver:v3.4.1"
    assert [m["name"] for m in container["volumeMounts"]] == ["kubesphere-config", "host-time", "whizard-tls"]
    document = yaml.safe_load(_live(cluster, "ConfigMap", KUBESPHERE, "kubesphere-config")["data"]["kubesphere.yaml"])
    original = yaml.safe_load(KUBESPHERE_YAML)
    assert document["observability"]["monitoring"]["endpoint"].startswith("https://")
    assert document["authentication"] == original["authentication"]  # KubeSphere's own settings kept
    untouched = {k: v for k, v in original.items() if k not in ("observability", "alerting")}
    assert {k: document[k] for k in untouched} == untouched


def _paths_holding(value, needle: str, path: str = "") -> list[str]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _paths_holding(v, needle, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _paths_holding(v, needle, f"{path}[{i}]")]
    return [path] if isinstance(value, str) and needle in value else []


def test_kubesphere_secrets_stay_secret_in_the_real_state(seed, engine):
    # kubesphere.yaml holds KubeSphere's own secrets; the stack reads and rewrites it, so the state file the real
    # engine wrote (the file backend's, as it is on disk) must hold it only as ciphertext.
    project, _ = seed
    file = engine.home / "state" / ".pulumi" / "stacks" / "cluster-tls" / f"{project.stack}.json"
    state = json.loads(file.read_text())
    leaks = [
        f"{r['urn']} {path}"
        for r in state["checkpoint"]["latest"]["resources"]
        for path in _paths_holding(r, "offline-sample-jwt-secret")
    ]
    assert leaks == [], leaks
    assert "ciphertext" in json.dumps(state)


def test_the_issued_certificates_serve_tls(seed, cluster, tmp_path):
    kube = cluster.kube
    leaf_spec = kube.get("cert-manager.io/v1", "Certificate", "whizard-tls", MONITORING)["spec"]
    leaf = issued(kube, MONITORING, leaf_spec["secretName"])
    check_against_spec(leaf, leaf_spec, leaf.ca)
    client_spec = kube.get("cert-manager.io/v1", "Certificate", "whizard-client-tls", KUBESPHERE)["spec"]
    client = issued(kube, KUBESPHERE, client_spec["secretName"])
    check_against_spec(client, client_spec, client.ca)
    assert client.ca_crt == leaf.ca_crt  # ks-apiserver trusts the CA that signed Whizard's certificate
    trust = tmp_path / "ca.crt"
    trust.write_bytes(client.ca_crt)
    host = next(n for n in leaf_spec["dnsNames"] if n.startswith("query-frontend"))
    assert serve_and_connect(leaf, tmp_path, host, trust) == b"OK ping"


def test_a_second_up_changes_nothing(seed):
    _, stack = seed
    steps = events_of("resource_pre_event")
    changes = stack.up(on_event=steps).summary.resource_changes or {}
    changed = [
        (
            e.metadata.urn,
            e.metadata.op.value,
            e.metadata.diffs,
            e.metadata.detailed_diff,
            e.metadata.old and e.metadata.old.inputs,
            e.metadata.new and e.metadata.new.inputs,
        )
        for e in steps.kept
        if e.metadata.op.value not in ("same", "read")
    ]
    assert set(changes) <= {"same", "read"}, changed  # `read`: the live kubesphere-config, read on every run


def test_offline_render_equals_the_cluster(seed, cluster, tmp_path):
    project, _ = seed
    done = project.offline("render", "--stack", project.stack, "--out", str(tmp_path / "render"))
    assert done.returncode == 0, done.stderr
    problems, _ = compare_with_cluster(cluster.kube, tmp_path / "render")
    assert problems == []


def _cert_secret(name: str, case) -> dict:
    obj = copy.deepcopy(_whizard("Query"))
    obj["spec"] = {
        "httpServerTLSConfig": {
            "certSecret": {"name": name, "key": "tls.crt"},
            "keySecret": {"name": name, "key": "tls.key"},
        }
    }
    for key in reversed(case[4]):
        obj["spec"] = {key: obj["spec"]}
    return obj


def test_destroy_gives_back_the_whizard_resources_and_the_deployment(seed, cluster, kubesphere, case):
    _, stack = seed
    stack.destroy()
    for kind in ("QueryFrontend", "Query", "Router"):
        spec = _live(cluster, kind, MONITORING)["spec"]
        assert _tls(spec, case) is None and spec["replicas"] == 2
    deployment = _live(cluster, "Deployment", KUBESPHERE, "ks-apiserver")
    assert (
        deployment["spec"]["template"]["spec"] == kubesphere[("Deployment", "ks-apiserver")]["spec"]["template"]["spec"]
    )


def test_destroy_never_deletes_kubesphere_config(seed, cluster):
    # The patch took `data.kubesphere.yaml` from the installer (patchForce); giving it up would delete the whole
    # document, so the patch is retained: the document stays as the stack last wrote it.
    live = _live(cluster, "ConfigMap", KUBESPHERE, "kubesphere-config")
    document = yaml.safe_load(live["data"]["kubesphere.yaml"])
    assert document["authentication"] == yaml.safe_load(KUBESPHERE_YAML)["authentication"]
    assert document["observability"]["monitoring"]["endpoint"].startswith("https://")


def test_a_conflict_with_another_field_manager_is_reported(seed, cluster, case):
    # After destroy: another manager owns the field the Query patch sets, with another value; `pulumi up` must
    # fail on that conflict, naming the manager, rather than take the field.
    _, stack = seed
    kube = cluster.kube
    kube.apply(_cert_secret("someone-else", case), manager="someone-else")
    try:
        with pytest.raises(auto.errors.CommandError) as failed:
            stack.up()
        assert "conflict" in str(failed.value).lower() and "someone-else" in str(failed.value), failed.value
        assert _tls(_live(cluster, "Query", MONITORING)["spec"], case)["certSecret"]["name"] == "someone-else"
    finally:
        stack.destroy()
        kube.apply(_whizard("Query") | {"spec": {}}, manager="someone-else")


def test_a_wrong_whizard_version_is_refused_against_the_installed_crds(seed, cluster, case):
    # issue 19: the version the stack names is checked against the CRDs the cluster serves; the other layout's
    # path would be pruned by the API server without an error. Refused before any patch: nothing is taken.
    _, stack = seed
    said = "v0.9.0" if case[4] else "v0.10.3"  # the layout this cluster's CRDs do not have
    stack.set_config("cluster-tls:whizard.whizardVersion", auto.ConfigValue(said), path=True)
    try:
        with pytest.raises(auto.errors.CommandError) as refused:
            stack.up()
        message = str(refused.value)
        assert f"whizardVersion '{said}' puts TLS at spec." in message, message
        # each resource is checked on its own; whichever fails first is reported
        assert re.search(
            r"installed (Query|QueryFrontend|Router) CRD \(\w+\.monitoring\.whizard\.io v1alpha1\) does not have",
            message,
        ), message
        for kind in ("QueryFrontend", "Query", "Router"):
            spec = _live(cluster, kind, MONITORING)["spec"]
            assert "httpServerTLSConfig" not in spec and "webConfig" not in spec, (kind, spec)
    finally:
        stack.set_config("cluster-tls:whizard.whizardVersion", auto.ConfigValue(case[2].split("-")[1]), path=True)
        stack.destroy()
