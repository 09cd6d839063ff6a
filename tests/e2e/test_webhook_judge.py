"""cert-manager's own webhook as the judge of preflight's CM1 (issue 29).

cert-manager v1.21.1 installed from its chart with Helm's waits (its webhook a real process of its own, reached
at the chart's `webhook.url.host`); every object is sent as a server-side dry run with strict field validation,
so nothing is stored. For many generated Certificates and Issuers, and for every Certificate, Issuer and
ClusterIssuer of the corpus (hand-written, and made by the components for every shipped stack and stack-file case),
CM1 must refuse exactly what the webhook refuses. What the CRD schema or strict
field validation refuses first never reaches the webhook and is left out of the comparison (it is the API
server's verdict, not the webhook's).
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from cluster_tls.preflight import run_rules
from cluster_tls.preflight.certmanager_webhook import certificate_refusals, gates, issuer_refusals
from cluster_tls.preflight.view import from_manifests
from tests.e2e.charts import ChartRepository
from tests.e2e.cluster import Cluster
from tests.e2e.corpus_objects import corpus_programs
from tests.e2e.kube import ApiError, Kube
from tests.e2e.kubelet import ProcessKubelet, images
from tests.test_corpus import OBJECTS

VERSION = "v1.21.1"
NAMESPACE = "judge"
SEED = int(os.environ.get("CLUSTER_TLS_JUDGE_SEED", "29"))
WEBHOOK = 'admission webhook "webhook.cert-manager.io" denied the request'


@pytest.fixture(scope="module")
def kube(e2e_bin: Path):
    cluster = Cluster(bin=e2e_bin, crds=[], cert_manager=False, pods=True, process_images=images(VERSION))
    cluster.start()
    kubelet = ProcessKubelet(cluster.kube, e2e_bin, VERSION, cluster.server, cluster.ca_file, cluster.state / "pods")
    charts = None
    try:
        kubelet.start()
        charts = ChartRepository(e2e_bin / "helm", e2e_bin.parent / "charts", cluster.state / "charts").start()
        settings = [
            "crds.enabled=true",
            "prometheus.enabled=false",
            "webhook.url.host=localhost",
            "webhook.securePort=443",
        ]
        subprocess.run(
            [
                e2e_bin / "helm", "install", "cert-manager", "cert-manager", "--repo", charts.url, "--ca-file",
                charts.ca.cert, "--version", VERSION, "-n", "cert-manager", "--create-namespace", "--wait",
                "--timeout", "5m", *(a for s in settings for a in ("--set", s)),
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "KUBECONFIG": str(cluster.kubeconfig)},
        )  # fmt: skip
        cluster.kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        cluster.kube.forget_kinds()
        yield cluster.kube
    finally:
        kubelet.stop()
        if charts is not None:
            charts.stop()
        cluster.stop()


def verdict(kube: Kube, obj: dict[str, Any]) -> tuple[str, str]:
    """("admitted" | "webhook" | "schema", the API server's message) of a dry-run create."""
    meta = obj["metadata"]
    path = kube.path(obj["apiVersion"], obj["kind"], namespace=meta.get("namespace"))
    query = urllib.parse.urlencode({"dryRun": "All", "fieldValidation": "Strict"})
    try:
        kube.request("POST", f"{path}?{query}", obj)
        return "admitted", ""
    except ApiError as error:
        return ("webhook" if WEBHOOK in str(error.reason) else "schema"), str(error.reason)


def _pick(rng: random.Random, *choices: Any) -> Any:
    return rng.choice(choices)


# Each mutation sets one field of a valid Certificate to a valid or an invalid value of the kinds the webhook
# judges; a generated Certificate has none, one or two of them, so each refusal is met alone and in pairs.
CERTIFICATE_MUTATIONS: dict[str, tuple[Any, ...]] = {
    "secretName": ("s", "", "Bad_Name", "x" * 254),
    "issuerRef": (
        {"name": ""},
        {"name": "ca", "kind": "ClusterIssuer"},
        {"name": "ca", "kind": "AWSPCAIssuer"},
        {"name": "ca", "kind": "AWSPCAIssuer", "group": "awspca.cert-manager.io"},
        {"name": "ca", "kind": "Other", "group": "cert-manager.io"},
    ),
    "commonName": ("a.example.com", "c" * 64, "c" * 65, "é" * 33, "é" * 32),
    "literalSubject": ("CN=foo,O=bar", "O=bar", "XX=1", "CN=a+OU=b", "1.2.3.4=x", "CN=" + "c" * 65),
    "subject": ({"organizations": ["o"]}, {"countries": ["DE"]}),
    "dnsNames": ([],),
    "ipAddresses": (["10.0.0.1"], ["999.1.1.1"], ["fe80::1%eth0"], ["::1"], ["010.0.0.1"]),
    "emailAddresses": (["a@b.c"], ["A <a@b.c>"], ["bad"], ["a.b@[1.2.3.4]"], ['"a b"@c.d'], ["ü@b.c"]),
    "uris": (["spiffe://x/y"],),
    "otherNames": ([{"oid": "1.3.6.1.4.1.311.20.2.3", "utf8Value": "u@x"}], [{"oid": "1.2", "utf8Value": ""}]),
    "privateKey": (
        {"algorithm": "RSA", "size": 1024},
        {"algorithm": "RSA", "size": 2048},
        {"algorithm": "RSA", "size": 8192},
        {"algorithm": "RSA", "size": 16384},
        {"algorithm": "ECDSA", "size": 255},
        {"algorithm": "ECDSA", "size": 521},
        {"algorithm": "ECDSA"},
        {"algorithm": "Ed25519"},
    ),
    "signatureAlgorithm": ("SHA256WithRSA", "ECDSAWithSHA256", "PureEd25519", "SHA512WithRSA"),
    "duration": ("59m", "1h", "24h", "2160h", "90m"),
    "renewBefore": ("4m", "5m", "1h", "2160h", "23h59m"),
    "renewBeforePercentage": (10, 50, 99, 1),
    "usages": (["server auth"], ["digital signature", "key encipherment"], ["client auth"]),
    "revisionHistoryLimit": (0, 1, 5),
    "secretTemplate": (
        {"annotations": {"cert-manager.io/issuer-name": "y"}},
        {"annotations": {"cert-manager.io/allow-direct-injection": "true"}},
        {"labels": {"app": "bad value!"}},
        {"labels": {"example.com/app": "web"}},
        {"annotations": {"-bad": "x"}},
    ),
    "isCA": (True,),
    "nameConstraints": ({"permitted": {"dnsDomains": ["example.com"]}}, {}),
    "additionalOutputFormats": ([{"type": "CombinedPEM"}], [{"type": "DER"}, {"type": "DER"}]),
    "keystores": (
        {"pkcs12": {"create": True, "passwordSecretRef": {"name": "p", "key": "k"}}},
        {"pkcs12": {"create": True, "password": "x", "passwordSecretRef": {"name": "p", "key": "k"}}},
        {"jks": {"create": True, "password": ""}},
        {"jks": {"create": True, "password": "changeit"}},
    ),
}


def generated_certificate(rng: random.Random, i: int) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "secretName": f"s{i}",
        "issuerRef": {"name": "ca", "kind": "Issuer"},
        "dnsNames": ["a.example.com"],
    }
    for field in rng.sample(sorted(CERTIFICATE_MUTATIONS), rng.choice((0, 1, 1, 2, 2))):
        spec[field] = rng.choice(CERTIFICATE_MUTATIONS[field])
    meta = {"name": f"c{i}", "namespace": NAMESPACE}
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": meta, "spec": spec}


INGRESSES = (
    {"ingressClassName": "nginx"},
    {"class": "nginx", "ingressClassName": "x"},
    {"ingressClassName": "Bad_Class"},
    {"serviceType": "LoadBalancer"},
)
WEBHOOK_SOLVER = {"groupName": "g", "solverName": "s"}


def generated_issuer(rng: random.Random, i: int) -> dict[str, Any]:
    solvers = [
        {"dns01": {"webhook": {"groupName": "acme.dnspod.com", "solverName": _pick(rng, "dnspod", "")}}},
        {"http01": {"ingress": _pick(rng, *INGRESSES)}},
        {"dns01": {"webhook": WEBHOOK_SOLVER}, "waitInsteadOfSelfCheck": _pick(rng, "30s", "-5s", "0s")},
        {"dns01": {"cnameStrategy": _pick(rng, "Follow", "Sometimes"), "webhook": WEBHOOK_SOLVER}},
        {},
        {"http01": {"ingress": {}}, "dns01": {"webhook": {"groupName": "g", "solverName": "s"}}},
    ]  # fmt: skip
    acme = {
        "server": _pick(rng, "https://acme.example/dir", "https://acme.example/dir", ""),
        "email": "ops@example.org",
        "privateKeySecretRef": {"name": _pick(rng, "k", "k", "")},
        "solvers": rng.sample(solvers, rng.randint(0, 2)),
    }
    if rng.random() < 0.2:
        acme["skipTLSVerify"] = True
        acme["caBundle"] = "LS0tLS1CRUdJTg=="
    spec = _pick(
        rng,
        {"acme": acme},
        {"acme": acme},
        {"ca": {"secretName": _pick(rng, "ca", "")}},
        {"selfSigned": {}},
        {"selfSigned": {}, "ca": {"secretName": "ca"}},
        {
            "vault": {
                "server": _pick(rng, "https://vault", ""),
                "path": "pki/sign/x",
                "auth": {"tokenSecretRef": {"name": "t", "key": "k"}},
            }
        },
        {},
    )
    kind = _pick(rng, "Issuer", "ClusterIssuer")
    meta = {"name": f"i{i}", **({"namespace": NAMESPACE} if kind == "Issuer" else {})}
    return {"apiVersion": "cert-manager.io/v1", "kind": kind, "metadata": meta, "spec": spec}


def _ours(obj: dict[str, Any]) -> list[str]:
    spec = obj["spec"]
    return list(certificate_refusals(spec, gates(VERSION)) if obj["kind"] == "Certificate" else issuer_refusals(spec))


_FIELD = re.compile(r"(?:^|\[|, )spec(?:\.(\w+))?[.\[:]")


def fields(messages: str | list[str]) -> set[str]:
    """The top-level spec fields a verdict names (`spec.duration: ...` -> duration; `spec: at least one` -> '')."""
    text = messages if isinstance(messages, str) else ", ".join(messages)
    text = text.split("denied the request: ", 1)[-1]
    return {m.group(1) or "" for m in _FIELD.finditer(text)}


@pytest.mark.parametrize(
    "make,count", [(generated_certificate, 400), (generated_issuer, 200)], ids=["certificates", "issuers"]
)
def test_cm1_refuses_exactly_what_the_webhook_refuses_on_generated_objects(kube, make, count):
    rng = random.Random(SEED)
    judged, disagreements = 0, []
    for i in range(count):
        obj = make(rng, i)
        outcome, message = verdict(kube, obj)
        if outcome == "schema":
            continue
        judged += 1
        ours = _ours(obj)
        if fields(ours) != (fields(message) if outcome == "webhook" else set()):
            disagreements.append(f"{obj['spec']}\n  webhook: {outcome} {message}\n  CM1: {ours}")
    assert judged >= count // 3, (
        f"only {judged} of {count} reached the webhook: the generator makes too many schema errors"
    )
    assert disagreements == [], "\n".join(disagreements[:10]) + f"\n({len(disagreements)} disagreements, seed {SEED})"


def at_the_webhooks_version(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The case as if it installed the cert-manager this webhook runs: CM1 is compared at the webhook's version
    (a case pinning v1.14.7 is refused there for a gate v1.21.1 has on)."""
    return [
        {**d, "version": VERSION} if d.get("kind") == "HelmRelease" and d.get("chart") == "cert-manager" else d
        for d in docs
    ]


def _cm1(docs: list[dict[str, Any]], production: bool) -> set[str]:
    view = from_manifests(at_the_webhooks_version(docs), production=production)
    return {f.object.split(" (")[0] for f in run_rules(view) if f.rule == "CM1"}


JUDGED_KINDS = ("Certificate", "Issuer", "ClusterIssuer")


def test_cm1_agrees_with_the_webhook_on_every_corpus_object(kube, tmp_path):
    """Hand-written objects of the corpus and what the components make for every shipped stack and stack-file case."""
    production = {case["id"]: case.get("production", False) for case in OBJECTS["cases"]}
    disagreements, judged = [], 0
    for case, docs in corpus_programs(tmp_path):
        found = _cm1(docs, production.get(case, False))
        for doc in docs:
            if doc.get("apiVersion") != "cert-manager.io/v1" or doc["kind"] not in JUDGED_KINDS:
                continue
            namespace = doc["metadata"].get("namespace")
            if namespace:
                kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
            outcome, message = verdict(kube, doc)
            if outcome == "schema":
                continue
            judged += 1
            name = f"{doc['kind']} {namespace + '/' if namespace else ''}{doc['metadata']['name']}"
            if (name in found) != (outcome == "webhook"):
                disagreements.append(
                    f"{case}: {name}: webhook {outcome} {message}; CM1 {'found' if name in found else 'silent'}"
                )
    assert judged >= 120, judged
    assert disagreements == []
