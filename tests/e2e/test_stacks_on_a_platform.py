"""Staging and prod as users configure them, on the real engine (issue 27): each stack file as shipped, its own Helm
releases installed with waits from a chart mirror, the DNSPod credentials, domain, e-mail and hosts set with
`pulumi config set --secret`, the Let's Encrypt-style wildcard issued for real by cert-manager through ACME
DNS-01, up to a second `up` that changes nothing and a clean `destroy`.

What is real and what stands in is in tests/e2e/platform.py (and kubelet.py, kwok.py, acme.py, charts.py): the
Pulumi CLI, provider, API server, cert-manager (controller, webhook, cainjector, the startupapicheck hook) and the
ACME exchange are real; pods other than cert-manager's are reported running by kwok without running; pebble is
the ACME server; the DNSPod stand-in is imroc's webhook and Tencent's API. Reflector (the shipped replication)
cannot run here: what it reads is checked, and a per-namespace variant replicates for real.

Variants (one platform each, tests in file order):
- `staging`: the shipped file; secrets per key path.
- `staging-per-namespace`: the DNSPod key encrypted as a whole, one Certificate per namespace, and cert-manager
  v1.21's waitInsteadOfSelfCheck instead of the self-check (the other answer to seed 002's split-horizon DNS).
- `prod`: the shipped file on a KubeSphere cluster (Whizard v0.10.3 CRDs and objects); secrets per key path.
"""

from __future__ import annotations

import base64
import json
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from pulumi import automation as auto

from cluster_tls.stackfile import Project as StackProject
from cluster_tls.stackfile import stack_entries
from cluster_tls.stacks.program import main as stack_program
from tests.e2e.acme import REFUSED_DOMAIN, UNSERVED_LABEL
from tests.e2e.engine import REPO, Engine, Project
from tests.e2e.kube import conditions
from tests.e2e.live import assert_preview_as_predicted, compare_with_cluster, predicted_changes
from tests.e2e.platform import Platform, engine_for, environment
from tests.e2e.secrets import IssuedPair, serve_and_connect
from tests.e2e.test_whizard_seed import prepare_kubesphere

# The canary: capitals and dots as the domain (issue 27); every secret has a form the package derives.
DOMAIN = "Canary-Zone.E2E-Secret.Example"
ZONE = DOMAIN.lower()
EMAIL = f"Platform.Team@{ZONE}"
SECRET_ID = "AKIDCanary.Secret-Id.0123456789"
SECRET_KEY = "Canary.Secret-Key.ABCDEFabcdef"
FORMS = (DOMAIN, ZONE, EMAIL, EMAIL.lower(), SECRET_ID, SECRET_KEY, "canary-zone-e2e-secret-example")

VARIANTS = {
    "staging": {"stack": "staging", "whole_key": False, "changes": {}},
    "staging-per-namespace": {
        "stack": "staging",
        "whole_key": True,
        "changes": {
            "replication": {"mechanism": "perNamespace", "namespaces": ["apps", "istio-system"]},
            "waitInsteadOfSelfCheck": "0s",
        },
    },
    "prod": {"stack": "prod", "whole_key": False, "changes": {}},
}
CM = "cert-manager.io/v1"


@dataclass
class Deployed:
    variant: str
    platform: Platform
    engine: Engine
    project: Project
    stack: auto.Stack
    whole_key: bool
    hosts: list[str]
    created_namespaces: list[str]
    output: list[str] = field(default_factory=list)

    @property
    def kube(self):
        return self.platform.cluster.kube

    def outputs(self) -> dict[str, Any]:
        return {k: v.value for k, v in self.stack.outputs().items()}

    def certificates(self) -> list[dict]:
        return self.kube.list_all(CM, "Certificate")


def _secrets(deployed_hosts: list[str], whole_key: bool, dnspod: dict) -> tuple[dict, dict]:
    """(per-path secrets, whole-key secrets) as an operator sets them."""
    per_path: dict[str, str] = {f"cluster-tls:istioGateway.hosts[{i}]": host for i, host in enumerate(deployed_hosts)}
    whole: dict[str, str] = {}
    credentials = {"secretId": SECRET_ID, "secretKey": SECRET_KEY}
    if whole_key:
        whole["cluster-tls:dnspod"] = json.dumps(
            {**dnspod, "domain": DOMAIN, "email": EMAIL, "credentials": credentials}
        )
    else:
        per_path |= {
            "cluster-tls:dnspod.domain": DOMAIN,
            "cluster-tls:dnspod.email": EMAIL,
            "cluster-tls:dnspod.credentials.secretId": SECRET_ID,
            "cluster-tls:dnspod.credentials.secretKey": SECRET_KEY,
        }
    return per_path, whole


@pytest.fixture(scope="module", params=list(VARIANTS))
def deployed(request, e2e_bin: Path, shared_crds, tmp_path_factory):
    variant = VARIANTS[request.param]
    stack = variant["stack"]
    crds = shared_crds["istio"] + shared_crds["gateway-api"]
    platform = Platform(e2e_bin, crds, stack, (ZONE,), SECRET_ID, SECRET_KEY).start()
    try:
        entries = stack_entries(StackProject.find(REPO), stack)
        for ns in entries["cluster-tls:namespaces"].get("existing", []):
            platform.cluster.kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        if "cluster-tls:whizard" in entries:
            prepare_kubesphere(platform.cluster, shared_crds["whizard-v0.10.3"])
        config = platform.overrides(entries)
        config["cluster-tls:dnspod"] |= variant["changes"]
        hosts = [f"{h.split('.')[0]}.{ZONE}" for h in config["cluster-tls:istioGateway"]["hosts"]]
        engine = engine_for(e2e_bin, tmp_path_factory.mktemp(f"{request.param}-pulumi"), platform.cluster.kubeconfig)
        with environment(engine):
            folder = tmp_path_factory.mktemp(request.param) / "project"
            project = Project.copy_of(
                REPO, REPO / "stacks" / f"Pulumi.{stack}.yaml", stack, folder, config, stack_program
            )
            made = engine.stack(project)
            per_path, whole = _secrets(hosts, variant["whole_key"], config["cluster-tls:dnspod"])
            for key, value in per_path.items():
                made.set_config(key, auto.ConfigValue(value, secret=True), path=True)
            for key, value in whole.items():
                made.set_config(key, auto.ConfigValue(value, secret=True))
            created = entries["cluster-tls:namespaces"].get("create", [])
            yield Deployed(request.param, platform, engine, project, made, variant["whole_key"], hosts, created)
            made.workspace.remove_stack(project.stack, force=True)
    finally:
        platform.stop()


def test_the_stack_file_holds_every_secret_as_ciphertext(deployed):
    text = deployed.project.stack_file.read_text()
    assert [form for form in FORMS if form in text] == []
    assert "secure:" in text


def test_up_converges_in_one_run_with_the_stacks_own_releases(deployed):
    result = deployed.stack.up(on_output=deployed.output.append)
    assert result.summary.result == "succeeded"
    deployed.platform.check_alive()
    not_ready = [
        (c["metadata"]["namespace"], c["metadata"]["name"], c.get("status"))
        for c in deployed.certificates()
        if conditions(c).get("Ready") != "True"
    ]
    assert not_ready == []
    releases = {
        r["outputs"]["name"]: r["outputs"]["status"]["status"]
        for r in deployed.stack.export_stack().deployment["resources"]
        if r["type"] == "kubernetes:helm.sh/v3:Release"
    }
    expected = {"cert-manager"} | (
        {"cilium", "istio-ingressgateway"} if deployed.variant.startswith("staging") else set()
    )
    assert releases == dict.fromkeys(expected, "deployed")
    # ...from the mirror, with Helm's waits (the chart's startupapicheck hook ran as a real check and passed)
    assert any(path.endswith(".tgz") for path in deployed.platform.charts.requests)
    assert [c for _, part, c in deployed.platform.kubelet.completed if part == "startupapicheck"] == [0]


def _issued(kube, namespace: str, name: str) -> IssuedPair:
    secret = kube.get("v1", "Secret", name, namespace)
    assert secret is not None, f"Secret {namespace}/{name} was not written"
    data = {k: base64.b64decode(v) for k, v in secret["data"].items()}
    return IssuedPair(f"{namespace}-{name}", data["tls.crt"], data["tls.key"], data.get("ca.crt", b""))


def _wildcard_namespaces(deployed: Deployed) -> list[str]:
    """Where cert-manager writes the wildcard: the namespaces of the Certificates writing the DnspodWildcard's
    Secret (one, or one per namespace)."""
    name = deployed.outputs()["dnspod"]["secret_name"]
    return sorted({c["metadata"]["namespace"] for c in deployed.certificates() if c["spec"]["secretName"] == name})


def test_the_wildcard_is_issued_through_acme_dns01_and_chains_to_the_acme_servers_root(deployed, tmp_path):
    name = deployed.outputs()["dnspod"]["secret_name"]
    root = x509.load_pem_x509_certificate(deployed.platform.pebble.root())
    for namespace in _wildcard_namespaces(deployed):
        pair = _issued(deployed.kube, namespace, name)
        chain = x509.load_pem_x509_certificates(pair.tls_crt)
        sans = chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sorted(sans.get_values_for_type(x509.DNSName)) == [f"*.{ZONE}", ZONE]
        for child, parent in zip(chain, [*chain[1:], root], strict=True):
            child.verify_directly_issued_by(parent)
    log = deployed.platform.dnspod.records()
    assert f"CreateRecord zone={ZONE} name=_acme-challenge.{ZONE}." in log
    assert f"DeleteRecord zone={ZONE} name=_acme-challenge.{ZONE}." in log  # cleaned up after validation
    # A TLS handshake with the issued wildcard: accepted for a host the stack serves, refused for another.
    trust = tmp_path / "acme-root.pem"
    trust.write_bytes(deployed.platform.pebble.root())
    pair = _issued(deployed.kube, _wildcard_namespaces(deployed)[0], name)
    assert serve_and_connect(pair, tmp_path, deployed.hosts[0], trust) == b"OK ping"
    with pytest.raises(ssl.SSLCertVerificationError):
        serve_and_connect(pair, tmp_path, "shop.another-zone.example", trust)


def test_the_gateway_serves_a_secret_that_reaches_its_namespace(deployed):
    gateway = deployed.kube.get("networking.istio.io/v1", "Gateway", "web", "istio-system")
    credential = gateway["spec"]["servers"][0]["tls"]["credentialName"]
    assert credential == deployed.outputs()["dnspod"]["secret_name"]  # the name the wildcard writes, not retyped
    if "istio-system" in _wildcard_namespaces(deployed):  # perNamespace: cert-manager writes it there itself
        assert deployed.kube.get("v1", "Secret", credential, "istio-system") is not None
        return
    # Reflector copies it (it cannot run here): the Secret cert-manager wrote carries what reflector reads
    # (emberstack/kubernetes-reflector README, "Automatic mirror creation").
    source = deployed.kube.get("v1", "Secret", credential, "cert-manager")
    annotations = source["metadata"]["annotations"]
    prefix = "reflector.v1.k8s.emberstack.com/"
    assert annotations[prefix + "reflection-allowed"] == "true"
    assert annotations[prefix + "reflection-auto-enabled"] == "true"
    for key in ("reflection-allowed-namespaces", "reflection-auto-namespaces"):
        assert "istio-system" in annotations[prefix + key].split(",")


def test_a_second_up_changes_nothing(deployed):
    changes = deployed.stack.up(on_output=deployed.output.append).summary.resource_changes or {}
    assert set(changes) <= {"same", "read"} and "same" in changes, changes  # reads: WhizardTLS's CRDs, ks-apiserver


def _render(deployed: Deployed, out: Path) -> None:
    done = deployed.project.offline("render", "--stack", deployed.project.stack, "--out", str(out))
    assert done.returncode == 0, done.stderr


def test_the_offline_render_equals_the_live_objects(deployed, tmp_path):
    # `cluster-tls render` decrypts the secrets with the stack's passphrase, as `pulumi up` does (the harness's
    # environment has PULUMI_CONFIG_PASSPHRASE), and renders them as [secret]
    _render(deployed, tmp_path / "render")
    problems, _ = compare_with_cluster(deployed.kube, tmp_path / "render")
    assert problems == []


def test_a_host_change_previews_as_cluster_tls_diff_predicts(deployed, tmp_path):
    _render(deployed, tmp_path / "before")
    # A new secret host that sorts last: render folders keep no digest of a secret, so `diff --against-dir` can
    # only say a secret "may have changed"; a new last entry is an added one, which it can tell (issue 28).
    deployed.stack.set_config(
        f"cluster-tls:istioGateway.hosts[{len(deployed.hosts)}]",
        auto.ConfigValue(f"zz-new.{ZONE}", secret=True),
        path=True,
    )
    try:
        _render(deployed, tmp_path / "after")
        assert_preview_as_predicted(
            deployed.stack, predicted_changes(deployed.project, tmp_path / "before", tmp_path / "after")
        )
    finally:
        deployed.stack.remove_config(f"cluster-tls:istioGateway.hosts[{len(deployed.hosts)}]", path=True)


LIVE_KINDS = [
    ("v1", "Secret"),
    ("v1", "ConfigMap"),
    ("v1", "Namespace"),
    ("v1", "ServiceAccount"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    (CM, "Certificate"),
    (CM, "CertificateRequest"),
    (CM, "Issuer"),
    (CM, "ClusterIssuer"),
    ("acme.cert-manager.io/v1", "Order"),
    ("acme.cert-manager.io/v1", "Challenge"),
    ("networking.istio.io/v1", "Gateway"),
    ("networking.istio.io/v1", "VirtualService"),
]


def _reflect(deployed: Deployed) -> None:
    """What reflector does (it cannot run here): copy each Secret that asks for it into the namespaces it names."""
    prefix = "reflector.v1.k8s.emberstack.com/"
    for secret in deployed.kube.list_all("v1", "Secret"):
        annotations = secret["metadata"].get("annotations") or {}
        if annotations.get(prefix + "reflection-auto-enabled") != "true":
            continue
        for namespace in annotations.get(prefix + "reflection-auto-namespaces", "").split(","):
            if namespace and deployed.kube.get("v1", "Namespace", namespace) is not None:
                copy = {"apiVersion": "v1", "kind": "Secret", "type": secret["type"], "data": secret["data"]}
                copy["metadata"] = {"name": secret["metadata"]["name"], "namespace": namespace}
                deployed.kube.apply(copy, manager="reflector")


def _working(deployed: Deployed) -> bool:
    """Whether status says working, with the replicator doing its job meanwhile: when cert-manager re-issues the
    wildcard after the failures, reflector copies the new Secret (status names a stale copy until it does)."""
    _reflect(deployed)
    return _status(deployed)[0] == 0


def _status(deployed: Deployed, *more: str) -> tuple[int, dict, str]:
    done = deployed.project.offline("status", "--stack", deployed.project.stack, "--format", "json", *more)
    return done.returncode, json.loads(done.stdout or "{}"), done.stdout + done.stderr


def _not_working(document: dict) -> dict[str, dict]:
    """The lines not ok, by subject; a subject's several lines (drift, then its state) joined with " | "."""
    found: dict[str, dict] = {}
    for line in (x for c in document.get("components", []) for x in c["lines"] if x["state"] != "ok"):
        seen = found.setdefault(line["subject"], {"text": "", "fix": "", "state": line["state"]})
        for key in ("text", "fix"):
            seen[key] = f"{seen[key]} | {line[key]}" if seen[key] else line[key]
        seen["state"] = line["state"]  # the last: a Certificate's own state comes after its drift
    return found


def test_status_says_the_stack_works_and_shows_no_secret(deployed):
    """`cluster-tls status` of the converged stack (issue 30), once the replicator has copied the wildcard: every
    component working, except prod's Hubble certificates, which Cilium's chart creates from the values prod only
    outputs (Cilium is installed outside prod); every secret form kept out of its text and JSON although the
    cluster holds the domain in plain (Certificate dnsNames, Secrets)."""
    code, document, shown = _status(deployed)
    if deployed.variant != "staging-per-namespace":  # the gateway reads a copy no replicator has made yet
        gateway = _not_working(document)["Gateway istio-system/web"]
        assert "which does not exist" in gateway["text"] and "check the replicator is installed" in gateway["fix"]
        _reflect(deployed)
        code, document, shown = _status(deployed)
    failing = _not_working(document)
    if deployed.variant == "prod":
        assert code == 1
        assert sorted(failing) == [
            f"Certificate kube-system/{name}"
            for name in ("hubble-metrics-server-certs", "hubble-relay-client-certs", "hubble-server-certs")
        ], failing
        assert all("install or upgrade the chart with the values" in line["fix"] for line in failing.values())
        hubble = [c for c in document["components"] if not c["working"]]
        assert [(c["kind"], c["name"]) for c in hubble] == [("HubbleTLS", "hubble")]
    else:
        assert code == 0 and document["working"], shown[-6000:]
    assert document["unreadable"] == []
    kinds = {c["kind"] for c in document["components"]}
    assert {"DnspodWildcard", "IstioHTTPSGateway", "CertManagerInstall"} <= kinds, kinds
    checked = [x["subject"] for c in document["components"] for x in c["lines"]]
    assert any(s.startswith("Certificate ") and "wildcard" in s for s in checked), checked
    text = deployed.project.offline("status", "--stack", deployed.project.stack)
    assert text.returncode == code, text.stdout + text.stderr
    shown = (shown + text.stdout + text.stderr).lower()
    assert [f for f in FORMS if f.lower() in shown] == []


def _with_names(deployed: Deployed, certificate: dict, names: list[str]) -> None:
    meta = certificate["metadata"]
    deployed.kube.apply(
        {
            "apiVersion": CM,
            "kind": "Certificate",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
            "spec": {**certificate["spec"], "dnsNames": names},
        },
        manager="someone-by-hand",
    )


def test_status_explains_acme_failures_cert_manager_makes(deployed):
    """The wildcard edited by hand to add a name pebble's policy refuses, then a name whose TXT record no resolver
    the checks ask can see (tests/e2e/acme.py): cert-manager fails each its own way; status names the edit (drift),
    the failing step and its fix."""
    if deployed.variant != "staging":
        pytest.skip("one variant is enough: the failures are cert-manager's, not the stack's")
    name = deployed.outputs()["dnspod"]["secret_name"]
    wildcard = next(c for c in deployed.certificates() if c["spec"]["secretName"] == name)
    subject = f"Certificate {wildcard['metadata']['namespace']}/{wildcard['metadata']['name']}"
    names = wildcard["spec"]["dnsNames"]
    try:
        _with_names(deployed, wildcard, [*names, f"www.{REFUSED_DOMAIN}"])

        def refused():
            failing = _not_working(_status(deployed)[1])
            return failing if "rejectedIdentifier" in failing.get(subject, {}).get("text", "") else None

        failing = deployed.kube.wait_for("the order refused", refused, timeout=90, interval=2)
        assert "differs from the stack in spec.dnsNames" in failing[subject]["text"], failing[subject]
        assert "the ACME server refused the order" in failing[subject]["fix"]
        # what a `pulumi up` would hang on: the wildcard carries pulumi.com/waitFor
        assert "a `pulumi up` now running waits for it (pulumi.com/waitFor" in failing[subject]["text"]
        _with_names(deployed, wildcard, names)
        deployed.kube.wait_for("the wildcard Ready again", lambda: _working(deployed), timeout=90, interval=2)

        _with_names(deployed, wildcard, [*names, f"www.{UNSERVED_LABEL}.{ZONE}"])

        seen: list[str] = []

        def not_propagated():
            code, document, shown = _status(deployed)
            seen[:] = [shown]
            failing = _not_working(document)
            return failing if "self-check failing" in failing.get(subject, {}).get("text", "") else None

        try:
            failing = deployed.kube.wait_for("the self-check failing", not_propagated, timeout=240, interval=3)
        except TimeoutError as error:
            challenges = deployed.kube.list_all("acme.cert-manager.io/v1", "Challenge")
            raise AssertionError(f"{error}; status said:\n{seen[0][-4000:]}\nchallenges: {challenges}") from None
        line = failing[subject]
        assert line["state"] == "waiting" and "Waiting for DNS-01 challenge propagation" in line["text"], line
        assert "dns01RecursiveNameservers" in line["fix"] and "waitInsteadOfSelfCheck" in line["fix"]
    finally:
        _with_names(deployed, wildcard, names)
    # cert-manager requeues a Certificate that kept failing with a growing delay (its workqueue's rate limiter):
    # back to Ready can take minutes here
    try:
        deployed.kube.wait_for("the wildcard Ready again", lambda: _working(deployed), timeout=300, interval=3)
    except TimeoutError as error:
        raise AssertionError(f"{error}; status said:\n{_status(deployed)[2][-4000:]}") from None
    # The DNS-01 webhook's APIService gone (the chart uninstalled by hand): no Certificate shows it until a renewal
    issuer = next(i for i in deployed.kube.list(CM, "ClusterIssuer") if "dns01" in json.dumps(i["spec"]))
    group = next(s["dns01"]["webhook"]["groupName"] for s in issuer["spec"]["acme"]["solvers"] if "dns01" in s)
    api = ("apiregistration.k8s.io/v1", "APIService", f"v1alpha1.{group}")
    saved = deployed.kube.get(*api)
    deployed.kube.delete(*api)
    try:
        line = _not_working(_status(deployed)[1])[f"APIService v1alpha1.{group}"]
        assert line["text"].startswith(f"missing: no DNS-01 webhook serves {group}"), line
    finally:
        meta = {k: v for k, v in saved["metadata"].items() if k in ("name", "labels", "annotations")}
        deployed.kube.apply({"apiVersion": api[0], "kind": api[1], "metadata": meta, "spec": saved["spec"]})
    deployed.kube.wait_for("the APIService back", lambda: _status(deployed)[0] == 0, timeout=120, interval=3)


def test_no_plain_form_of_a_secret_in_state_names_events_or_output(deployed):
    state = (
        deployed.engine.home / "state" / ".pulumi" / "stacks" / "cluster-tls" / f"{deployed.project.stack}.json"
    ).read_text()
    assert [f for f in FORMS if f in state or f.lower() in state.lower()] == []
    names = "\n".join(
        f"{kind} {o['metadata'].get('namespace', '')}/{o['metadata']['name']}"
        for api, kind in LIVE_KINDS
        for o in deployed.kube.list_all(api, kind)
    )
    assert [f for f in FORMS if f.lower() in names.lower()] == []
    output = "\n".join(deployed.output)
    assert [f for f in FORMS if f.lower() in output.lower()] == []
    # Events: what cert-manager itself records names the domain it issues for (an Order's "Created Challenge
    # resource ... for domain"), as Certificate.spec.dnsNames does: any reader of the cluster sees the names a
    # certificate is for. Every other event (Pulumi's, Helm's, the package's objects') holds none.
    events = deployed.kube.request("GET", "/api/v1/events")["items"]
    ours = [
        e
        for e in events
        if not (e.get("source", {}).get("component") or e.get("reportingComponent", "")).startswith("cert-manager")
    ]
    leaked = [e["message"] for e in ours if any(f.lower() in (e.get("message") or "").lower() for f in FORMS)]
    assert leaked == []


def test_destroy_removes_what_the_stack_created(deployed):
    deployed.stack.destroy(on_output=deployed.output.append)
    kube = deployed.kube
    assert [c["metadata"]["name"] for c in deployed.certificates()] == []
    assert kube.list(CM, "ClusterIssuer") == []
    helm = [s["metadata"]["name"] for s in kube.request("GET", "/api/v1/secrets?labelSelector=owner%3Dhelm")["items"]]
    assert helm == []  # every release uninstalled
    assert kube.get("networking.istio.io/v1", "Gateway", "web", "istio-system") is None
    for ns in deployed.created_namespaces:
        namespace = kube.get("v1", "Namespace", ns)
        assert namespace is None or namespace["metadata"].get("deletionTimestamp")
