"""Every reference between the objects a stack renders resolves, with every string of its config made secret in
turn (issue 27: with the DNSPod domain secret, the wildcard Certificate wrote `wildcard-<digest>` while the Istio
gateway served `wildcard-<the plain domain>`, a Secret nothing creates).

The judge follows each name to the object it names, the way the controller reading it would: a Certificate's
issuerRef to an Issuer or ClusterIssuer, a CA issuer's secretName to the Certificate that writes it where the
issuer reads it, an ACME solver's credential references to their Secret, an Istio Gateway's credentialName to a
Secret written in (or replicated to) the gateway's namespace, a Gateway API listener's certificateRefs likewise.
A name is never secret (it is in the object's path and in every reference to it), so a reference shown as
[secret] is a failure too.
"""

from __future__ import annotations

import pytest
import yaml

from cluster_tls.manifests import render_files
from cluster_tls.stackfile import stack_entries
from tests.test_secret_canary import CASES, PROJECT, _run_with_canary

REFLECTED_TO = "reflector.v1.k8s.emberstack.com/reflection-auto-namespaces"
REPLICATED_TO = "replicator.v1.mittwald.de/replicate-to"


def _objects(files: dict[str, str]) -> list[dict]:
    return [yaml.safe_load(text) for path, text in sorted(files.items()) if path.startswith("manifests/")]


def _secrets_written(objects: list[dict]) -> set[tuple[str, str]]:
    """(namespace, Secret name) of every Secret the render creates, directly or through cert-manager and the
    replication annotations it gives them."""
    found = set()
    for obj in objects:
        meta = obj["metadata"]
        if obj["kind"] == "Secret":
            found.add((meta.get("namespace", ""), meta["name"]))
        if obj["kind"] == "Certificate":
            spec = obj["spec"]
            found.add((meta["namespace"], spec["secretName"]))
            annotations = (spec.get("secretTemplate") or {}).get("annotations") or {}
            for key in (REFLECTED_TO, REPLICATED_TO):
                for ns in filter(None, str(annotations.get(key, "")).split(",")):
                    found.add((ns.strip(), spec["secretName"]))
    return found


def dangling_references(objects: list[dict], cluster_resource_namespace: str) -> list[str]:
    problems: list[str] = []
    present = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in objects}
    secrets = _secrets_written(objects)

    def name(value, where: str) -> str | None:
        if not isinstance(value, str) or value == "[secret]":
            problems.append(f"{where}: the reference is {value!r}, not a name")
            return None
        return value

    for obj in objects:
        kind, meta, spec = obj["kind"], obj["metadata"], obj.get("spec") or {}
        ns, where = meta.get("namespace", ""), f"{obj['kind']} {meta.get('namespace', '')}/{meta['name']}"
        if kind == "Certificate":
            ref = spec["issuerRef"]
            issuer = name(ref.get("name"), f"{where} issuerRef")
            if ref.get("group", "cert-manager.io") == "cert-manager.io" and issuer:
                key = ("ClusterIssuer", "", issuer) if ref.get("kind") == "ClusterIssuer" else ("Issuer", ns, issuer)
                if key not in present:
                    problems.append(f"{where}: issuerRef names {key}, which the stack does not create")
        if kind in ("Issuer", "ClusterIssuer"):
            home = ns if kind == "Issuer" else cluster_resource_namespace
            ca = (spec.get("ca") or {}).get("secretName")
            if ca is not None and (home, name(ca, f"{where} ca.secretName")) not in secrets:
                problems.append(f"{where}: ca.secretName {ca!r} is written nowhere in {home!r}")
            for solver in (spec.get("acme") or {}).get("solvers", []):
                config = ((solver.get("dns01") or {}).get("webhook") or {}).get("config") or {}
                for field in ("secretIdRef", "secretKeyRef"):
                    if field in config:
                        ref = name(config[field].get("name"), f"{where} {field}")
                        if ref and (home, ref) not in secrets:
                            problems.append(f"{where}: {field} {ref!r} is written nowhere in {home!r}")
        if kind == "Gateway" and obj["apiVersion"].startswith("networking.istio.io"):
            for server in spec.get("servers", []):
                credential = (server.get("tls") or {}).get("credentialName")
                if credential is not None:
                    credential = name(credential, f"{where} credentialName")
                    if credential and (ns, credential) not in secrets:
                        problems.append(f"{where}: credentialName {credential!r} is written nowhere in {ns!r}")
        if kind == "Gateway" and obj["apiVersion"].startswith("gateway.networking.k8s.io"):
            for listener in spec.get("listeners", []):
                for ref in (listener.get("tls") or {}).get("certificateRefs", []):
                    target = name(ref.get("name"), f"{where} certificateRefs")
                    if target and (ref.get("namespace", ns), target) not in secrets:
                        problems.append(f"{where}: certificateRef {target!r} is written nowhere")
        if kind == "Ingress":
            for tls in spec.get("tls", []):
                target = name(tls.get("secretName"), f"{where} tls.secretName")
                if target and (ns, target) not in secrets:
                    problems.append(f"{where}: tls.secretName {target!r} is written nowhere in {ns!r}")
    return problems


def test_the_judge_finds_the_reported_mismatch():
    certificate = {
        "kind": "Certificate",
        "apiVersion": "cert-manager.io/v1",
        "metadata": {"name": "wildcard-3f2a", "namespace": "istio-system"},
        "spec": {"secretName": "wildcard-3f2a", "issuerRef": {"name": "dnspod", "kind": "ClusterIssuer"}},
    }
    issuer = {"kind": "ClusterIssuer", "apiVersion": "cert-manager.io/v1", "metadata": {"name": "dnspod"}, "spec": {}}
    gateway = {
        "kind": "Gateway",
        "apiVersion": "networking.istio.io/v1",
        "metadata": {"name": "web", "namespace": "istio-system"},
        "spec": {"servers": [{"tls": {"credentialName": "wildcard-example-com"}}]},
    }
    assert dangling_references([certificate, issuer, gateway], "cert-manager") == [
        "Gateway istio-system/web: credentialName 'wildcard-example-com' is written nowhere in 'istio-system'"
    ]
    gateway["spec"]["servers"][0]["tls"]["credentialName"] = "[secret]"
    assert "not a name" in dangling_references([certificate, issuer, gateway], "cert-manager")[0]
    gateway["spec"]["servers"][0]["tls"]["credentialName"] = "wildcard-3f2a"
    assert dangling_references([certificate, issuer, gateway], "cert-manager") == []


@pytest.mark.parametrize("stack,key,path", CASES, ids=[f"{s}:{k}.{'.'.join(map(str, p))}" for s, k, p in CASES])
def test_every_reference_resolves_with_this_value_secret(tmp_path, stack, key, path):
    value = stack_entries(PROJECT, stack)[f"cluster-tls:{key}"]
    for part in path:
        value = value[part]
    evaluation, error = _run_with_canary(tmp_path, stack, key, path, value)  # the stack's own value, as a secret
    if error:
        # Refused before anything registers: a name set with --secret (names are never secret), or a secret that
        # a plain value of the same file holds too (so it is public already). One line per problem, naming keys.
        for line in error.splitlines()[1:]:
            kinds = ("a name is never secret", "holds the secret value of", "names are never secret")
            assert any(kind in line for kind in kinds), line
            assert f"{value!r}" not in line and "(got" not in line
        return
    objects = _objects(render_files(evaluation))
    assert objects
    assert dangling_references(objects, "cert-manager") == []  # every shipped stack's cluster-resource namespace


def _run_with_secrets(tmp_path, stack: str, secrets: dict[tuple[str, tuple], str]):
    """The stack with each (key, path) set to its value with `--secret --path`, as `pulumi up` runs it."""
    import copy
    import shutil

    from cluster_tls.mockrun import Evaluation, run_program
    from cluster_tls.stackfile import config_from_entries
    from cluster_tls.stacks.program import main
    from tests.test_secret_canary import REPO, _set

    entries = stack_entries(PROJECT, stack)
    decrypted, on_disk = copy.deepcopy(entries), copy.deepcopy(entries)
    for (key, path), value in secrets.items():
        _set(decrypted[f"cluster-tls:{key}"], path, value)
        _set(on_disk[f"cluster-tls:{key}"], path, {"secure": "v1:ciphertext"})
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    shutil.copy(REPO / "Pulumi.yaml", project / "Pulumi.yaml")
    (project / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": on_disk}))
    config, _ = config_from_entries(decrypted, "cluster-tls")
    evaluation = Evaluation()
    keys = sorted({f"cluster-tls:{key}" for key, _ in secrets})
    run_program(main, stack=stack, config=config, secret_keys=keys, evaluation=evaluation, cwd=project, offline=True)
    return evaluation


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_a_secret_domain_with_secret_hosts_is_served_from_the_secret_the_wildcard_writes(tmp_path, stack):
    # issue 27, as a new user would set it: the domain and the hosts under it secret, a canary with capitals and dots
    domain = "Canary-Zone.Secret-E2E.Example"
    hosts = stack_entries(PROJECT, stack)["cluster-tls:istioGateway"]["hosts"]
    secrets = {("dnspod", ("domain",)): domain}
    secrets |= {("istioGateway", ("hosts", i)): f"{h.split('.')[0]}.{domain.lower()}" for i, h in enumerate(hosts)}
    evaluation = _run_with_secrets(tmp_path, stack, secrets)
    files = render_files(evaluation)
    objects = _objects(files)
    assert dangling_references(objects, "cert-manager") == []
    gateway = next(o for o in objects if o["kind"] == "Gateway")
    credential = gateway["spec"]["servers"][0]["tls"]["credentialName"]
    assert credential.startswith("wildcard-") and credential != "[secret]"
    text = "\n".join(files.values()).lower()
    assert "canary-zone" not in text and "secret-e2e" not in text


def test_a_secret_domain_beside_plain_hosts_under_it_is_refused_naming_both_keys(tmp_path):
    from cluster_tls.stacks.config import StackConfigError

    with pytest.raises(StackConfigError) as refused:
        _run_with_secrets(tmp_path, "staging", {("dnspod", ("domain",)): "example.com"})
    assert refused.value.problems == [
        f"cluster-tls:{key}: is plain text but holds the secret value of cluster-tls:dnspod.domain; "
        f"set it with `pulumi config set --secret --path {key} ...` too"
        for key in ("dnspod.email", "istioGateway.hosts[0]")
    ]
