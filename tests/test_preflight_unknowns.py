"""Secret and unknown leaves (issue 19): the rules see the structure of an object with a secret in it and treat only
that leaf as unknown. Offline a secret leaf reaches them as `Unknown("[secret]")`; under the policy pack a value
`pulumi preview` cannot know yet reaches them as `Unknown("[unknown]")`.

Generic over the corpus: every leaf of every hand-written object, one at a time, is made unknown; no rule may fail
on it, and no rule may find a fault the object did not have (an unknown value proves nothing). Then the mistakes
themselves: a secret in a field the rule does not judge leaves the finding where it was, through the real secret
guard and the offline runtime.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from cluster_tls.components import secret_guard
from cluster_tls.manifests import render_files
from cluster_tls.mockrun import Evaluation, run_program
from cluster_tls.preflight import run_rules
from cluster_tls.preflight.policy import plain
from cluster_tls.preflight.view import Unknown, from_evaluation, from_manifests
from tests.test_corpus import OBJECTS, documents

# Which object a finding is about stays the same when a leaf is unknown only if its name and kind are known.
_IDENTITY = {
    ("apiVersion",),
    ("kind",),
    ("metadata", "name"),
    ("metadata", "namespace"),
    ("name",),
    ("namespace",),
    ("chart",),
}


def _leaves(value: Any, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    if path and path not in _IDENTITY:
        yield path  # a mapping or a list can be secret as a whole too


def _replaced(document: dict, path: tuple, marker: str) -> dict:
    changed = copy.deepcopy(document)
    tree = changed
    for part in path[:-1]:
        tree = tree[part]
    tree[path[-1]] = Unknown(marker)
    return changed


def _findings(docs: list[dict], production: bool) -> set[tuple[str, str]]:
    """(rule, what it is about) of each error; an object by its place in the case, since its name may be unknown."""
    view = from_manifests(docs, production=production)
    for release in (d for d in docs if d.get("kind") == "HelmRelease"):
        view.plain_inputs[release["name"]] = {"values": release["values"]}
    place = {obj.describe(): f"object {index}" for index, obj in enumerate(view.objects)}
    place |= {f"resource {obj.resource}": f"object {index}" for index, obj in enumerate(view.objects)}
    return {(f.rule, place.get(f.object, f.object)) for f in run_rules(view) if f.severity == "error"}


def _variants(case: dict) -> Iterator[tuple[str, list[dict]]]:
    docs = documents(case)
    for index, document in enumerate(docs):
        for path in _leaves(document):
            for marker in ("[secret]", "[unknown]"):
                changed = [*docs[:index], _replaced(document, path, marker), *docs[index + 1 :]]
                yield f"{document.get('kind')}.{'.'.join(map(str, path))} {marker}", changed


CASES = OBJECTS["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_an_unknown_leaf_anywhere_breaks_no_rule_and_invents_no_error(case):
    production = case.get("production", False)
    before = _findings(documents(case), production)
    variants = 0
    for where, docs in _variants(case):
        after = _findings(docs, production)  # raises if a rule cannot take an unknown value
        assert after <= before, f"{case['id']}: with {where} unknown, new errors {sorted(after - before)}"
        variants += 1
    assert variants > 0


def test_the_policy_packs_unknown_values_are_unknown_leaves():
    class Unreadable(Exception):
        pass

    class Props(dict):
        def __getitem__(self, key):
            if key == "dnsNames":
                raise Unreadable(key)
            return super().__getitem__(key)

    converted = plain(Props({"dnsNames": ["a"], "secretName": "x"}), Unreadable)
    assert isinstance(converted["dnsNames"], Unknown) and converted["secretName"] == "x"
    assert converted["dnsNames"] != converted["dnsNames"].__class__("[unknown]")


def test_an_unknown_equals_nothing_and_reads_as_empty():
    one, other = Unknown(), Unknown()
    assert one != other and one != "[secret]" and "[secret]" != one and one not in ("[secret]", other)
    assert one.get("name") is None and list(one) == [] and "a" not in one and one["kind"] is None
    assert not (one > 4096) and not (one < 1) and bool(one) and str(one) == "[secret]"


SECRET_HOST = "Shop.Example.COM"


def _selfsigned_leaf_program(dns_names: list[str], organizations: list[str]):
    """A hand-written leaf from a selfSigned issuer (seed 001), with secrets in fields C1 does not judge."""

    def program():
        secret_guard.install([SECRET_HOST, "Acme Ops"])
        issuer = k8s.apiextensions.CustomResource(
            "selfsigned",
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            metadata={"name": "selfsigned"},
            spec={"selfSigned": {}},
        )
        k8s.apiextensions.CustomResource(
            "shop",
            api_version="cert-manager.io/v1",
            kind="Certificate",
            metadata={"name": "shop", "namespace": "apps"},
            spec={
                "secretName": "shop-tls",
                "dnsNames": dns_names,
                "subject": {"organizations": organizations},
                "duration": "10m",
                "issuerRef": {"name": "selfsigned", "kind": "ClusterIssuer"},
            },
            opts=pulumi.ResourceOptions(depends_on=[issuer]),
        )

    return program


@pytest.mark.parametrize(
    "dns_names,organizations",
    [([SECRET_HOST.lower()], ["platform"]), (["shop.example.org"], ["Acme Ops"])],
    ids=["secret-dns-name", "secret-organization"],
)
def test_a_secret_in_a_spec_leaves_the_rules_on_for_the_rest_of_it(dns_names, organizations):
    evaluation = Evaluation()
    run_program(_selfsigned_leaf_program(dns_names, organizations), evaluation=evaluation)
    findings = {f.rule for f in run_rules(from_evaluation(evaluation)) if f.severity == "error"}
    # C1 (a leaf from a selfSigned issuer) and CM1 (duration 10m) judge the issuerRef and duration, which are plain
    assert {"C1", "CM1"} <= findings, findings
    rendered = render_files(evaluation)["manifests/apps/certificate.cert-manager.io.shop.yaml"]
    assert "issuerRef:" in rendered and "selfsigned" in rendered and "10m" in rendered  # the rest stays reviewable
    assert "[secret]" in rendered and "example.com" not in rendered.lower() and "Acme Ops" not in rendered


def test_only_the_secret_leaf_of_helm_values_is_secret():
    evaluation = Evaluation()

    def program():
        secret_guard.install(["Top.Secret-Token"])
        k8s.helm.v3.Release(
            "app",
            chart="app",
            namespace="apps",
            values={"replicas": 2, "auth": {"token": "Top.Secret-Token", "user": "ops"}, "image": "app:1"},
        )

    run_program(program, evaluation=evaluation)
    values = render_files(evaluation)["helm/apps/app/values.yaml"]
    assert "Top.Secret" not in values
    assert "replicas: 2" in values and "user: ops" in values and "token: '[secret]'" in values


@pytest.mark.parametrize(
    "secret,plain_values",
    [
        # issue 19: with a whole config key secret, "web" marked every path with "webhook" in it
        ("hook", ["cert-manager-webhook", "webhooks.yaml", "helm/cert-manager/templates/webhook-deployment.yaml"]),
        ("Example.com", ["myexample.com", "example.community"]),
    ],
)
def test_a_secret_is_matched_as_a_whole_word_not_inside_others(secret, plain_values):
    guard = secret_guard.SecretGuard([secret])
    assert not any(guard.contains(value) for value in plain_values), plain_values
    assert guard.contains(f"*.{secret}") and guard.contains(f"{secret}-tls") and guard.contains(f"https://{secret}:443")
    assert guard.redact(f"host 'a.{secret.lower()}' in {plain_values[0]}") == f"host 'a.[secret]' in {plain_values[0]}"


def test_a_release_whose_name_and_chart_are_secret_renders_and_is_judged():
    # issue 19: a secret chart reached the rules as the SDK's wrapper ("'Secret' object has no attribute 'rsplit'")
    evaluation = Evaluation()

    def program():
        secret_guard.install(["private-charts/cilium", "edge-release"])
        k8s.helm.v3.Release("cni", chart="private-charts/cilium", name="edge-release", namespace="kube-system")

    run_program(program, evaluation=evaluation)
    files = render_files(evaluation)
    assert "helm/_secret/cni/release.yaml" in files and "private-charts" not in "".join(files.values())
    run_rules(from_evaluation(evaluation))


def test_an_object_in_a_secret_namespace_is_in_an_unknown_namespace_to_the_rules():
    # The render files it under manifests/_secret/; the rules must not take "_secret" for its namespace (B1 would
    # then say the Issuer is in another namespace than the Certificate).
    evaluation = Evaluation()

    def program():
        secret_guard.install(["shopteam"])
        k8s.apiextensions.CustomResource(
            "ca",
            api_version="cert-manager.io/v1",
            kind="Issuer",
            metadata={"name": "ca", "namespace": "apps"},
            spec={"ca": {"secretName": "ca"}},
        )
        k8s.apiextensions.CustomResource(
            "leaf",
            api_version="cert-manager.io/v1",
            kind="Certificate",
            metadata={"name": "leaf", "namespace": "shopteam"},
            spec={"secretName": "leaf", "dnsNames": ["a.example.com"], "issuerRef": {"name": "ca", "kind": "Issuer"}},
        )

    run_program(program, evaluation=evaluation)
    assert "manifests/_secret/certificate.cert-manager.io.leaf.yaml" in render_files(evaluation)
    view = from_evaluation(evaluation)
    leaf = next(o for o in view.objects if o.resource == "leaf")
    assert isinstance(leaf.namespace, Unknown) and leaf.name == "leaf"
    assert [f.rule for f in run_rules(view) if f.severity == "error"] == []
