"""The API server's strict field validation as the judge of preflight's S1 (issue 29).

A real kube-apiserver (v1.36) with the upstream CRDs the shipped schemas come from (cert-manager's from its
release, Istio, Gateway API, trust-manager and Whizard from ../shared/schemas/crds); every object is sent as a
server-side dry-run create with `fieldValidation=Strict`, so nothing is stored. S1 must name exactly the fields the
API server names and be silent where it names none: on generated objects (CRD kinds and built-in kinds, each with
one key misspelt or added), on every object of the corpus, hand-written and component-made (every shipped stack
and stack-file case rendered), and for Whizard under each of its two CRD layouts installed in turn.
"""

from __future__ import annotations

import copy
import random
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml

from cluster_tls.preflight import run_rules
from cluster_tls.preflight.engine import RULES
from cluster_tls.preflight.view import from_manifests
from tests.e2e.cluster import Cluster
from tests.e2e.corpus_objects import Program, corpus_programs
from tests.e2e.kube import ApiError, Kube
from tests.e2e.test_webhook_judge import SEED, generated_certificate, generated_issuer

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "judge"
S1 = [r for r in RULES if r.id == "S1"]
WHIZARD = "monitoring.whizard.io/v1alpha1"
CERT_MANAGER = "v1.21.1"  # tools/e2e/build.sh CERT_MANAGER_VERSION: the CRDs the judge starts with
# `strict decoding error: unknown field "spec.x"` (built-in kinds and CRDs); `.spec.x: field not declared in schema`
_UNKNOWN = re.compile(r'unknown field "([^"]+)"|(\.[\w.\[\]-]+): field not declared in schema')


@pytest.fixture(scope="module")
def judge(e2e_bin: Path, shared_crds: dict[str, list[Path]], shared: Path):
    cert_manager = sorted((e2e_bin.parent / "cert-manager-crds").glob("*.yaml"))
    trust_manager = sorted((shared / "schemas" / "crds" / "trust-manager").glob("*.yaml"))
    crds = [*cert_manager, *trust_manager, *shared_crds["istio"], *shared_crds["gateway-api"]]
    cluster = Cluster(bin=e2e_bin, crds=[*crds, *shared_crds["whizard-v0.10.3"]], cert_manager=False)
    cluster.start()
    try:
        cluster.kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        yield cluster
    finally:
        cluster.stop()


def named(kube: Kube, obj: dict[str, Any]) -> set[str] | None:
    """The fields strict field validation names in a dry-run create of `obj` (none: it names none), or None where
    decoding failed first on a value of the wrong type (a built-in kind's decoder then reports nothing else)."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    if namespace:
        kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    try:
        path = kube.path(obj["apiVersion"], obj["kind"], namespace=namespace)
    except ValueError:  # namespaced, and none given: where Pulumi's provider puts it
        path = kube.path(obj["apiVersion"], obj["kind"], namespace="default")
    query = urllib.parse.urlencode({"dryRun": "All", "fieldValidation": "Strict"})
    try:
        kube.request("POST", f"{path}?{query}", obj)
        return set()
    except ApiError as error:
        fields = {(a or b).lstrip(".") for a, b in _UNKNOWN.findall(str(error.reason))}
        if not fields and error.status == 400 and "unmarshal" in str(error.reason):
            return None
        return fields


def s1_paths(docs: list[dict[str, Any]]) -> dict[str, set[str]]:
    """S1's named fields per object ("Kind namespace/name") over the objects of one program."""
    found: dict[str, set[str]] = {}
    for finding in run_rules(from_manifests(docs), rules=S1):
        found.setdefault(finding.object.split(" (")[0], set()).add(finding.message.split("'")[1])
    return found


def object_name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    return f"{obj['kind']} {namespace + '/' if namespace else ''}{meta.get('name') or ''}"


# -- generated objects ----------------------------------------------------------------------------------------


def _dict_nodes(value: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every mapping inside `value` (through lists), with its path as the API server writes it."""
    found = []
    if isinstance(value, dict):
        found.append((path, value))
        for key, item in value.items():
            found += _dict_nodes(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _dict_nodes(item, f"{path}[{index}]")
    return found


def with_an_unknown_field(rng: random.Random, obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` with one key misspelt (a letter doubled, dropped or an s added, as users misspell) or added, at a
    random mapping outside its name; the result may well be a field the schema has (credentialNames)."""
    obj = copy.deepcopy(obj)
    path, node = rng.choice(_dict_nodes(obj))
    sent_by = {"": ("apiVersion", "kind"), "metadata": ("name", "namespace")}.get(path, ())  # where it is sent
    keys = sorted(k for k in node if k not in sent_by)
    if keys and rng.random() < 0.7:
        key = rng.choice(keys)
        cut = rng.randrange(len(key))
        misspelt = rng.choice((key[:cut] + key[cut] + key[cut:], key[:cut] + key[cut + 1 :], key + "s")) or "x"
        node[misspelt] = node.pop(key)
    else:
        node[rng.choice(("extra", "secretNames", "issuerref", "privatekey", "labels"))] = {"a": "b"}
    return obj


def generated_builtin(rng: random.Random, i: int) -> dict[str, Any]:
    """A Secret, ConfigMap, Service, Ingress or Deployment as TLS set-ups write them, with some optional parts."""
    meta = {"name": f"b{i}", "namespace": NAMESPACE, **({"labels": {"app": "web"}} if rng.random() < 0.5 else {})}
    kind = rng.choice(("Secret", "ConfigMap", "Service", "Ingress", "Deployment"))
    if kind == "Secret":
        body = {"type": "kubernetes.io/tls", "stringData": {"tls.crt": "x", "tls.key": "y"}}
        if rng.random() < 0.3:
            body["immutable"] = True
        return {"apiVersion": "v1", "kind": kind, "metadata": meta, **body}
    if kind == "ConfigMap":
        return {"apiVersion": "v1", "kind": kind, "metadata": meta, "data": {"ca.crt": "x"}}
    if kind == "Service":
        port = {"name": "https", "port": 443, "targetPort": rng.choice((8443, "https")), "protocol": "TCP"}
        spec = {"selector": {"app": "web"}, "ports": [port], "type": rng.choice(("ClusterIP", "NodePort"))}
        return {"apiVersion": "v1", "kind": kind, "metadata": meta, "spec": spec}
    if kind == "Ingress":
        backend = {"service": {"name": "web", "port": {"number": 443}}}
        http = {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}
        spec = {
            "tls": [{"hosts": ["a.example.com"], "secretName": "web-tls"}],
            "rules": [{"host": "a.example.com", "http": http}],
        }
        if rng.random() < 0.5:
            spec["ingressClassName"] = "nginx"
        return {"apiVersion": "networking.k8s.io/v1", "kind": kind, "metadata": meta, "spec": spec}
    container = {
        "name": "web",
        "image": "web:1",
        "ports": [{"containerPort": 8443, "name": "https"}],
        "volumeMounts": [{"name": "tls", "mountPath": "/tls", "readOnly": True}],
        "resources": {"limits": {"memory": "64Mi", "cpu": "100m"}},
    }
    pod = {"containers": [container], "volumes": [{"name": "tls", "secret": {"secretName": "web-tls"}}]}
    template = {"metadata": {"labels": {"app": "web"}}, "spec": pod}
    spec = {"selector": {"matchLabels": {"app": "web"}}, "template": template, "replicas": rng.choice((1, 2))}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": spec}


@pytest.mark.parametrize("make", ["cert-manager", "built-in"])
def test_s1_names_exactly_the_fields_strict_field_validation_refuses(judge, make):
    """Generated objects the API server takes, each with one key misspelt or added: S1 must name the fields the
    API server's strict field validation names, and be silent where it admits the object."""
    rng = random.Random(SEED)
    judged, refused, disagreements = 0, 0, []
    for i in range(300):
        if make == "built-in":
            base = generated_builtin(rng, i)
        else:
            base = generated_certificate(rng, i) if i % 2 else generated_issuer(rng, i)
        if named(judge.kube, base) != set():
            continue  # judged on objects the server takes, so that the one change decides
        obj = with_an_unknown_field(rng, base)
        theirs = named(judge.kube, obj)
        if theirs is None:
            continue  # a value of the wrong type: decoding stopped before looking at fields
        judged += 1
        refused += bool(theirs)
        ours = s1_paths([obj]).get(object_name(obj), set())
        if ours != theirs:
            disagreements.append(f"{obj}\n  API server: {sorted(theirs)}\n  S1: {sorted(ours)}")
    assert judged >= 100 and refused >= 30, (judged, refused)
    assert disagreements == [], "\n".join(disagreements[:10]) + f"\n({len(disagreements)} disagreements, seed {SEED})"


# -- every corpus object --------------------------------------------------------------------------------------


def disagreements_with_the_server(kube: Kube, programs, only=lambda obj: True) -> tuple[list[str], int, set[str]]:
    """(disagreements, objects judged, kinds the server does not serve) over `programs`."""
    found, judged, unserved = [], 0, set()
    for case, docs in programs:
        ours = s1_paths(docs)
        for obj in docs:
            if "apiVersion" not in obj or not only(obj):
                continue  # a HelmRelease line of the corpus: not an object of the API
            try:
                theirs = named(kube, obj)
            except LookupError:
                unserved.add(f"{obj['apiVersion']}|{obj['kind']}")
                continue
            if theirs is None:
                continue
            judged += 1
            mine = ours.get(object_name(obj), set())
            if mine != theirs:
                found.append(f"{case}: {object_name(obj)}: API server {sorted(theirs)}; S1 {sorted(mine)}")
    return found, judged, unserved


@pytest.fixture(scope="module")
def programs(tmp_path_factory) -> list[Program]:
    return corpus_programs(tmp_path_factory.mktemp("rendered"))


def test_s1_agrees_with_strict_field_validation_on_every_corpus_object(judge, programs):
    found, judged, unserved = disagreements_with_the_server(
        judge.kube, programs, only=lambda obj: obj["apiVersion"] != WHIZARD
    )
    assert judged >= 150, judged
    # every kind S1 has a schema for is one the server judged; what it does not serve S1 does not judge either
    from cluster_tls.preflight.rules.schemas import schemas

    assert not unserved & set(schemas()), unserved & set(schemas())
    assert found == [], "\n".join(found)


def test_s1_agrees_with_strict_field_validation_under_each_whizard_layout(judge, shared_crds, programs):
    """Whizard's Gateway, Query, QueryFrontend and Router have two layouts (v0.9's `httpServerTLSConfig`, v0.10's
    `webConfig`); S1 takes a field either has. Each layout's CRDs installed in turn: S1 is silent on an object one
    of them admits, and otherwise names what the closest one names."""
    objects = [(case, obj) for case, docs in programs for obj in docs if obj.get("apiVersion") == WHIZARD]
    assert len(objects) >= 5
    per_layout = []
    for layout in ("whizard-v0.9.0", "whizard-v0.10.3"):
        install_whizard(judge, shared_crds[layout])
        per_layout.append([named(judge.kube, obj) for _, obj in objects])
    disagreements = []
    for index, (case, obj) in enumerate(objects):
        verdicts = [layout[index] for layout in per_layout]
        expected = set() if set() in verdicts else min((v for v in verdicts if v is not None), key=len, default=set())
        ours = s1_paths([obj]).get(object_name(obj), set())
        if ours != expected:
            disagreements.append(f"{case}: {object_name(obj)}: API server per layout {verdicts}; S1 {sorted(ours)}")
    assert disagreements == []


def install_whizard(cluster: Cluster, files: list[Path]) -> None:
    replace_crds(cluster, [d for f in files for d in yaml.safe_load_all(f.read_text()) if d])


def replace_crds(cluster: Cluster, documents: list[dict[str, Any]]) -> None:
    """Install these CRDs in place of those of the same names: deleted and made again, so no schema of the others
    stays."""
    crds = [d for d in documents if d.get("kind") == "CustomResourceDefinition"]
    names = [d["metadata"]["name"] for d in crds]
    kube = cluster.kube
    installed = [c for c in (kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", n) for n in names) if c]
    # A CRD deleted while its storage still initializes keeps its cleanup finalizer for minutes ("could not list
    # instances: storage is (re)initializing", retried with a growing back-off): delete once its objects list.
    kube.wait_for("the installed CRDs' storage ready", lambda: all(_lists(kube, crd) for crd in installed))
    for name in names:
        kube.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
    kube.wait_for(
        "the old CRDs gone",
        lambda: not any(kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", n) for n in names),
    )
    for crd in crds:
        cluster.kube.apply(crd)
    cluster.kube.wait_for_crds(names)
    cluster.kube.forget_kinds()


def _lists(kube: Kube, crd: dict[str, Any]) -> bool:
    spec = crd["spec"]
    for version in (v["name"] for v in spec["versions"] if v.get("served")):
        try:
            kube.request("GET", f"/apis/{spec['group']}/{version}/{spec['names']['plural']}?limit=1")
        except ApiError:
            return False
    return True


# -- S2: older cert-manager releases' CRDs as the judge ------------------------------------------------------


def release_crds(version: str) -> list[dict[str, Any]]:
    """The cert-manager.io CRDs of a release, from its Go module as tools/cert_manager_fields.py reads them; their
    labels are Helm template text in the repository's copy, so metadata keeps only the name (and before v1.9 a
    conversion webhook of the chart's, for API versions nothing here sends, is left out)."""
    sys.path.insert(0, str(REPO / "tools"))
    try:
        from cert_manager_fields import MODULE
        from go_modules import download
    finally:
        sys.path.remove(str(REPO / "tools"))
    folder = Path(download(MODULE, version)["Dir"]) / "deploy" / "crds"
    crds = []
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                spec = {k: v for k, v in doc["spec"].items() if k != "conversion"}  # a webhook of the chart's
                crds.append({**doc, "metadata": {"name": doc["metadata"]["name"]}, "spec": spec})
    return crds


PASSWORD = {"name": "p", "key": "k"}
TOKEN = {"tokenSecretRef": {"name": "t", "key": "k"}}
# Fields new since v1.10 that TLS set-ups use, in the shapes the generated objects lack.
NEWER_CERTIFICATE_FIELDS = (
    {"renewBeforePercentage": 40},
    {"signatureAlgorithm": "SHA256WithRSA", "privateKey": {"algorithm": "RSA", "size": 2048}},
    {"nameConstraints": {"permitted": {"dnsDomains": ["example.com"]}}, "isCA": True},
    {"otherNames": [{"oid": "1.3.6.1.4.1.311.20.2.3", "utf8Value": "u@example.com"}]},
    {"keystores": {"pkcs12": {"create": True, "profile": "Modern2023", "passwordSecretRef": PASSWORD}}},
    {"keystores": {"jks": {"create": True, "alias": "web", "passwordSecretRef": PASSWORD}}},
    {"renewal": {"windows": [{"cron": "0 2 * * *", "windowDuration": "2h"}]}},
)
NEWER_ISSUER_FIELDS = (
    {"acme": {"server": "https://acme.example/dir", "privateKeySecretRef": {"name": "k"}, "caBundle": "LS0t"}},
    {"acme": {"server": "https://acme.example/dir", "privateKeySecretRef": {"name": "k"}, "profile": "shortlived"}},
    {
        "acme": {
            "server": "https://acme.example/dir",
            "privateKeySecretRef": {"name": "k"},
            "solvers": [{"http01": {"ingress": {"ingressClassName": "nginx"}}}],
        }
    },
    {"ca": {"secretName": "ca", "issuingCertificateURLs": ["http://ca.example/ca.crt"]}},
    {"vault": {"server": "https://vault", "path": "pki/sign/x", "serverName": "vault", "auth": TOKEN}},
)


def cert_manager_objects(rng: random.Random, programs) -> list[dict[str, Any]]:
    """Generated Certificates and Issuers (some with a newer field), then every corpus cert-manager object."""
    made = []
    for i in range(160):
        obj = generated_certificate(rng, i) if i % 2 else generated_issuer(rng, i)
        if rng.random() < 0.5:
            extra = rng.choice(NEWER_CERTIFICATE_FIELDS if obj["kind"] == "Certificate" else NEWER_ISSUER_FIELDS)
            obj["spec"].update(copy.deepcopy(extra))
        made.append(obj)
    for _, docs in programs:
        made += [d for d in docs if d.get("apiVersion") == "cert-manager.io/v1" and d.get("kind") in S2_KINDS]
    return made


S2_KINDS = ("Certificate", "Issuer", "ClusterIssuer", "CertificateRequest")
S1_S2 = [r for r in RULES if r.id in ("S1", "S2")]


@pytest.mark.parametrize("version", ["v1.8.0", "v1.11.0", "v1.13.0", "v1.15.0", "v1.17.0", "v1.20.0"])
def test_s1_and_s2_name_exactly_what_an_older_cert_managers_api_server_refuses(judge, programs, version):
    """With a cert-manager release's own CRDs installed, every field S1 and S2 name (for a stack installing that
    release) is one the API server's strict field validation names, and every one it names they name."""
    objects = cert_manager_objects(random.Random(f"{SEED}-{version}"), programs)
    release = {"kind": "HelmRelease", "chart": "cert-manager", "name": "cert-manager", "version": version}
    replace_crds(judge, release_crds(version))
    try:
        judged, named_any, disagreements = 0, 0, []
        for obj in objects:
            theirs = named(judge.kube, obj)
            if theirs is None:
                continue
            judged += 1
            named_any += bool(theirs)
            found = run_rules(from_manifests([release, obj]), rules=S1_S2)
            ours = {f.message.split("'")[1] for f in found}
            if ours != theirs:
                disagreements.append(
                    f"{object_name(obj)} {obj['spec']}\n  API server: {sorted(theirs)}\n  S1/S2: {sorted(ours)}"
                )
    finally:
        replace_crds(judge, release_crds(CERT_MANAGER))
    assert judged >= 150 and named_any >= 5, (judged, named_any)
    assert disagreements == [], "\n".join(disagreements[:10]) + f"\n({len(disagreements)} disagreements)"


def test_the_shipped_field_history_is_what_the_script_makes(tmp_path):
    out = tmp_path / "cert_manager_fields.json"
    script = REPO / "tools" / "cert_manager_fields.py"
    subprocess.run([sys.executable, script, "--out", out], check=True, capture_output=True)
    assert out.read_text() == (REPO / "cluster_tls" / "preflight" / "cert_manager_fields.json").read_text()
