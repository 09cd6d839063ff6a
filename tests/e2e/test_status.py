"""`cluster-tls status` on the real tier (issue 30): the failures are made by the real cert-manager on a real API
server, never written by us; each must be explained in one line with its fix, and the exit status must say
whether TLS works. Two programs: the dev stack as shipped (run with `pulumi up`), and an adopter's folder program
(tests/e2e/programs/status_adopter: the package's CA chain beside objects written by hand). Tests run in file
order on each.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cluster_tls.mockrun import folder_program
from tests.e2e.engine import REPO, Engine
from tests.e2e.kube import conditions
from tests.e2e.test_dev_stack import E2E_CONFIG

ADOPTER = REPO / "tests" / "e2e" / "programs" / "status_adopter"
CM = "cert-manager.io/v1"


def status(project_args: list[str], *more: str) -> tuple[int, dict, str]:
    """`cluster-tls status ... --format json` as a user runs it: (exit status, the document, stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "cluster_tls.cli", "status", *project_args, "--format", "json", *more],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    document = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, document, done.stderr


def lines(document: dict) -> list[dict]:
    return [line for component in document["components"] for line in component["lines"]]


def line_for(document: dict, subject: str, *, failing: bool = True, containing: str = "") -> dict:
    """The first line on `subject` in that state (and with that text)."""
    found = [
        x
        for x in lines(document)
        if x["subject"] == subject and (x["state"] != "ok") == failing and containing in x["text"]
    ]
    assert found, (subject, json.dumps(document, indent=1))
    return found[0]


def wait_ready(kube, namespace: str, name: str, timeout: float = 60.0, newer_than: int | None = None) -> dict:
    """The Certificate once Ready (and, with `newer_than`, issued again since that revision). A Certificate that
    found its Secret already there and matching (left by an earlier test's stack of the same names) is Ready
    without an issuance, and has no revision."""

    def ready():
        certificate = kube.get(CM, "Certificate", name, namespace)
        revision = ((certificate or {}).get("status") or {}).get("revision", 0)
        fresh = newer_than is None or revision > newer_than
        return certificate if conditions(certificate).get("Ready") == "True" and fresh else None

    return kube.wait_for(f"Certificate {namespace}/{name} Ready", ready, timeout=timeout)


# --- the dev stack, as shipped ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dev(engine: Engine, cluster, tmp_path_factory):
    folder = tmp_path_factory.mktemp("status-dev") / "project"
    with engine.stack_of(REPO / "stacks" / "Pulumi.dev.yaml", "dev", folder, E2E_CONFIG) as (project, stack):
        stack.up()
        yield project, stack
        stack.destroy()


def dev_status(dev, *more: str) -> tuple[int, dict, str]:
    project, _ = dev
    return status(["--stack", "dev", "--project-dir", str(project.folder)], *more)


def test_a_converged_stack_is_working(dev, cluster):
    code, document, stderr = dev_status(dev)
    assert code == 0, json.dumps(document, indent=1) + stderr
    assert document["working"] and document["unreadable"] == []
    kinds = {c["kind"] for c in document["components"]}
    assert {"SelfSignedCAChain", "IstioHTTPSGateway"} <= kinds
    line_for(document, "Gateway istio-system/dev-web", failing=False, containing="present, as the stack sets it")
    line_for(document, "Gateway istio-system/dev-web", failing=False, containing="present, covers its hosts, current")
    certificate = line_for(document, "Certificate istio-system/dev-web-tls", failing=False)
    assert certificate["text"].startswith("Ready, expires")
    # one list per kind (Secrets and Events per namespace) and one discovery per group version: not per object
    assert document["requests"] <= 30, document["requests"]


def test_text_for_a_person(dev):
    project, _ = dev
    done = subprocess.run(
        [sys.executable, "-m", "cluster_tls.cli", "status", "--stack", "dev", "--project-dir", str(project.folder)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("stack dev on https://127.0.0.1:") and "working:" in first


def test_drift_names_the_fields(dev, cluster):
    kube = cluster.kube
    gateway = kube.get("networking.istio.io/v1", "Gateway", "dev-web", "istio-system")
    original = gateway["spec"]["servers"]
    servers = [{**original[0], "hosts": ["elsewhere.internal"]}, *original[1:]]
    patch = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "dev-web", "namespace": "istio-system"},
        "spec": {**gateway["spec"], "servers": servers},
    }
    kube.apply(patch, manager="someone-by-hand")
    try:
        code, document, _ = dev_status(dev)
        assert code == 1
        drift = line_for(document, "Gateway istio-system/dev-web")
        assert "differs from the stack in spec.servers[0].hosts" in drift["text"], drift
        assert "pulumi up" in drift["fix"]
    finally:
        patch["spec"]["servers"] = original
        kube.apply(patch, manager="someone-by-hand")
    assert dev_status(dev)[0] == 0


def test_ca_secret_deleted_leaves_the_leaf_on_the_old_ca(dev, cluster):
    """cert-manager re-issues a CA whose Secret is deleted, with a new key; the leaf keeps the old signature until
    it renews, and clients trusting the new CA refuse the gateway. Nothing in cert-manager's status shows it."""
    kube = cluster.kube
    ca = wait_ready(kube, "cert-manager", "dev-ca")
    secret = ca["spec"]["secretName"]
    kube.delete("v1", "Secret", secret, "cert-manager")
    wait_ready(kube, "cert-manager", "dev-ca", newer_than=ca["status"].get("revision", 0))
    code, document, _ = dev_status(dev)
    assert code == 1
    leaf = kube.get(CM, "Certificate", "dev-web-tls", "istio-system")
    stale = line_for(document, f"Secret istio-system/{leaf['spec']['secretName']}")
    assert "signed by a CA key ClusterIssuer dev-ca no longer holds" in stale["text"], stale
    assert "renew it" in stale["fix"]
    # the fix, as the line says it: delete the leaf's Secret; cert-manager re-issues it from the new CA
    kube.delete("v1", "Secret", leaf["spec"]["secretName"], "istio-system")
    code, document, stderr = dev_status(dev, "--watch", "--timeout", "60", "--interval", "1")
    assert code == 0, json.dumps(document, indent=1) + stderr


def test_issuer_deleted_is_named_with_its_fix(dev, cluster):
    kube = cluster.kube
    issuer = kube.get(CM, "ClusterIssuer", "dev-ca")
    kube.delete(CM, "ClusterIssuer", "dev-ca")
    leaf = kube.get(CM, "Certificate", "dev-web-tls", "istio-system")
    kube.delete("v1", "Secret", leaf["spec"]["secretName"], "istio-system")  # a renewal now needs the issuer
    try:
        kube.wait_for(
            "the leaf not Ready",
            lambda: conditions(kube.get(CM, "Certificate", "dev-web-tls", "istio-system")).get("Ready") == "False",
        )
        code, document, _ = dev_status(dev)
        assert code == 1
        missing = line_for(document, "ClusterIssuer dev-ca")
        assert missing["text"] == "missing" and missing["fix"] == "`pulumi up` creates it"
        certificate = line_for(document, "Certificate istio-system/dev-web-tls")
        assert "issuerRef names ClusterIssuer dev-ca, which does not exist" in certificate["text"], certificate
        line_for(document, "Gateway istio-system/dev-web", containing="which does not exist")
    finally:
        kube.apply({k: v for k, v in issuer.items() if k != "status"} | {"metadata": {"name": "dev-ca"}})
    code, document, stderr = dev_status(dev, "--watch", "--timeout", "90", "--interval", "1")
    assert code == 0, json.dumps(document, indent=1) + stderr


def _reader_kubeconfig(cluster, folder, secrets_in: tuple[str, ...]) -> Path:
    """A kubeconfig for a ServiceAccount that may only get, list and watch: everything status reads, but Secrets
    only in `secrets_in`."""
    kube = cluster.kube
    rbac = "rbac.authorization.k8s.io/v1"
    kube.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "reader", "namespace": "default"}})
    subject = [{"kind": "ServiceAccount", "name": "reader", "namespace": "default"}]
    reads = ["get", "list", "watch"]
    kube.apply(
        {
            "apiVersion": rbac,
            "kind": "ClusterRole",
            "metadata": {"name": "status-reader"},
            "rules": [
                {"apiGroups": [""], "resources": ["namespaces", "events"], "verbs": reads},
                {
                    "apiGroups": ["cert-manager.io", "acme.cert-manager.io", "networking.istio.io"],
                    "resources": ["*"],
                    "verbs": reads,
                },
            ],
        }
    )
    kube.apply(
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "status-reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "status-reader"},
            "subjects": subject,
        }
    )
    for namespace in secrets_in:
        role = {"apiVersion": rbac, "kind": "Role", "metadata": {"name": "secret-reader", "namespace": namespace}}
        kube.apply(role | {"rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": reads}]})
        kube.apply(
            {
                "apiVersion": rbac,
                "kind": "RoleBinding",
                "metadata": {"name": "secret-reader", "namespace": namespace},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "secret-reader"},
                "subjects": subject,
            }
        )
    return cluster.service_account_kubeconfig("default", "reader", folder / "reader-kubeconfig", 600)


def test_a_read_only_role_is_enough_and_what_it_may_not_read_is_named(dev, cluster, tmp_path):
    """Status writes nothing, so get/list/watch is enough; Secrets readable only in istio-system: the cluster-wide
    list is forbidden, each namespace is tried, and what stays unreadable is named with the API server's reason."""
    code, document, stderr = dev_status(
        dev, "--kubeconfig", str(_reader_kubeconfig(cluster, tmp_path, ("istio-system",)))
    )
    assert code == 1, stderr
    assert "cannot list Secret (v1) in namespace cert-manager: 403 Forbidden" in " ".join(document["unreadable"])
    assert not any("istio-system" in gap for gap in document["unreadable"])
    gateway = line_for(document, "Gateway istio-system/dev-web", failing=False, containing="covers its hosts")
    assert gateway["state"] == "ok"  # its Secret, in istio-system, was read
    states = {x["state"] for x in lines(document)}
    assert "failing" not in states, json.dumps(document, indent=1)  # nothing wrong: only not known


def test_a_cluster_it_cannot_reach_is_one_line(dev, tmp_path):
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
        "clusters: [{name: x, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "contexts: [{name: x, context: {cluster: x, user: x}}]\nusers: [{name: x, user: {}}]\n"
    )
    code, document, stderr = dev_status(dev, "--kubeconfig", str(config))
    assert code == 2 and document == {}
    assert stderr.count("\n") == 1 and "cannot reach the API server at https://127.0.0.1:9" in stderr, stderr


# --- an adopter's program --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def adopter(engine: Engine, cluster, tmp_path_factory):
    folder = tmp_path_factory.mktemp("status-adopter") / "project"
    with engine.program_stack("e2e-status-adopter", folder, folder_program(ADOPTER)) as (project, stack):
        stack.up()
        kube = cluster.kube
        for name in ("shop", "catalog", "churn"):
            wait_ready(kube, "apps", name)
        yield kube
        stack.destroy()


def adopter_status(*more: str) -> tuple[int, dict, str]:
    return status(["--program", str(ADOPTER), "--stack", "e2e"], *more)


def test_the_adopters_mistakes_each_in_one_line(adopter):
    code, document, stderr = adopter_status()
    assert code == 1, stderr
    gateway = line_for(document, "Gateway istio-system/shop")
    assert gateway["text"] == "reads Secret istio-system/shop-tls, which does not exist"
    assert gateway["fix"].startswith("Certificate apps/shop writes it in apps: issue it in istio-system")
    orphan = line_for(document, "Certificate apps/orphan")
    assert "its issuerRef names Issuer nowhere, which does not exist" in orphan["text"], orphan
    issuer = line_for(document, "ClusterIssuer adopter-broken-ca")
    assert "not Ready (ErrGetKeyPair" in issuer["text"] and "no-such-ca-keypair" in issuer["text"], issuer
    assert issuer["fix"].startswith("the CA Secret must exist in cert-manager"), issuer
    broken = line_for(document, "Certificate apps/broken")
    assert "ClusterIssuer adopter-broken-ca: not Ready (ErrGetKeyPair" in broken["text"], broken
    churn = line_for(document, "Certificate apps/churn")
    assert "re-issued every" in churn["text"] and "lower renewBefore" in churn["fix"], churn
    ingress = line_for(document, "Ingress web/catalog")
    assert "reads Secret web/catalog-tls, which does not exist" in ingress["text"]
    ca = [c for c in document["components"] if c["kind"] == "SelfSignedCAChain"]
    assert ca and ca[0]["working"], ca


def test_a_stale_replica(adopter):
    kube = adopter
    source = kube.get("v1", "Secret", "catalog-tls", "apps")
    copy = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": source["type"],
        "metadata": {"name": "catalog-tls", "namespace": "web"},
        "data": source["data"],
    }
    kube.apply(copy, manager="replicator")  # what the replicator does
    code, document, _ = adopter_status()
    line_for(document, "Ingress web/catalog", failing=False, containing="present, covers its hosts, current")
    revision = kube.get(CM, "Certificate", "catalog", "apps")["status"].get("revision", 0)
    kube.delete("v1", "Secret", "catalog-tls", "apps")  # re-issued with a new serial; the copy is not refreshed
    wait_ready(kube, "apps", "catalog", newer_than=revision)
    code, document, _ = adopter_status()
    assert code == 1
    stale = line_for(document, "Ingress web/catalog")
    assert "reads a stale copy: Secret web/catalog-tls holds serial" in stale["text"], stale
    assert "replicator" in stale["fix"]


def test_the_webhook_name_status_looks_for_is_the_one_the_chart_renders(e2e_bin):
    """The real Helm is the judge of `_webhook_name`, over release names and overrides a user might give."""
    import random

    import yaml

    from cluster_tls.preflight.view import Release
    from cluster_tls.status.collect import _webhook_name

    chart = e2e_bin.parent / "charts" / "cert-manager-v1.21.1"
    rng = random.Random(30)
    words = ["cert-manager", "cm", "certs", "x", "cert", "manager", "tls-cert-manager-platform"]
    cases = [
        ("cert-manager", {}),
        ("cm", {"fullnameOverride": "zz-"}),
        ("a" * 53, {}),
    ]  # Helm refuses longer release names
    for _ in range(8):
        name = "-".join(rng.sample(words, rng.randint(1, 3)))[:53]
        values = rng.choice([{}, {"nameOverride": rng.choice(words)}, {"fullnameOverride": rng.choice(words) * 3}])
        cases.append((name, values))
    for name, values in cases:
        argv = [e2e_bin / "helm", "template", name, chart]
        for key, value in values.items():
            argv += ["--set", f"{key}={value}"]
        rendered = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        (webhook,) = [d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "ValidatingWebhookConfiguration"]
        assert _webhook_name(Release("cert-manager", name, "cert-manager", values)) == webhook["metadata"]["name"]
